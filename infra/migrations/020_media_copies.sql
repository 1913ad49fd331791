-- Copies of the provider's images (issue 16): its profile-image and thumbnail URLs expire, so
-- profile-ingest keeps a copy of each under a content-addressed key (libs/blobs) and the gateway serves it.

-- profile-ingest's record of what it did with each image: the source URL it last handled for an owner
-- (a profile's username, a reel's content_id), and the copy it stored or why it refused it. The same
-- URL again is not fetched again; the same bytes from a new URL are not stored or announced again.
CREATE TABLE ingest.media (
    kind            text NOT NULL CHECK (kind IN ('profile_image', 'reel_thumbnail')),
    owner           text NOT NULL,
    username        text NOT NULL,
    source_url      text NOT NULL,
    status          text NOT NULL CHECK (status IN ('stored', 'refused')),
    key             text,
    sha256          text,
    bytes           integer,
    reason          text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, owner)
);

-- The read model's latest copy per owner (MediaStored). The projector points primary_profiles,
-- similar_profiles and content at it; the provider URL stays there until the copy exists.
CREATE TABLE readmodel.media_copies (
    kind            text NOT NULL,
    owner           text NOT NULL,
    username        text NOT NULL,
    key             text NOT NULL,
    content_type    text NOT NULL,
    bytes           integer NOT NULL,
    sha256          text NOT NULL,
    source_url      text NOT NULL,
    stored_at       timestamptz NOT NULL,
    PRIMARY KEY (kind, owner)
);

-- A stored profile image is also the picture of that account wherever it is listed as similar.
CREATE INDEX similar_profiles_similar_username_idx ON readmodel.similar_profiles (similar_username);
