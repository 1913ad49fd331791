-- When the projector applied a request (append-to-projected latency, projector lag).
ALTER TABLE readmodel.profile_queue ADD COLUMN projected_at timestamptz;

-- Fully ingested profiles (the seeds' primary_profiles).
CREATE TABLE readmodel.primary_profiles (
    username            text PRIMARY KEY,
    profile_name        text,
    bio                 text,
    followers           bigint NOT NULL DEFAULT 0,
    following           bigint NOT NULL DEFAULT 0,
    posts_count         bigint NOT NULL DEFAULT 0,
    is_verified         boolean NOT NULL DEFAULT false,
    is_private          boolean NOT NULL DEFAULT false,
    account_type        text,
    profile_image_url   text,
    total_reels         integer NOT NULL DEFAULT 0,
    median_views        double precision NOT NULL DEFAULT 0,
    mean_views          double precision NOT NULL DEFAULT 0,
    std_views           double precision NOT NULL DEFAULT 0,
    total_views         bigint NOT NULL DEFAULT 0,
    total_likes         bigint NOT NULL DEFAULT 0,
    total_comments      bigint NOT NULL DEFAULT 0,
    engagement_rate     double precision NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    last_scraped_at     timestamptz
);
CREATE INDEX primary_profiles_followers_idx ON readmodel.primary_profiles (followers);

-- Reels of every fetched profile (the seeds' content table), shared by all users.
CREATE TABLE readmodel.content (
    content_id          text PRIMARY KEY,
    username            text NOT NULL,
    shortcode           text NOT NULL,
    url                 text NOT NULL,
    description         text,
    view_count          bigint,
    like_count          bigint NOT NULL DEFAULT 0,
    comment_count       bigint NOT NULL DEFAULT 0,
    outlier_score       double precision NOT NULL DEFAULT 0,
    engagement_rate     double precision NOT NULL DEFAULT 0,
    date_posted         timestamptz,
    thumbnail_url       text,
    transcript          text,
    transcript_available boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX content_username_views_idx ON readmodel.content (username, view_count DESC NULLS LAST);
CREATE INDEX content_username_date_idx ON readmodel.content (username, date_posted DESC);

-- Accounts the provider calls similar to a profile (the crawler's frontier).
CREATE TABLE readmodel.similar_profiles (
    primary_username    text NOT NULL,
    similar_username    text NOT NULL,
    full_name           text,
    followers           bigint,
    is_private          boolean,
    is_verified         boolean,
    profile_image_url   text,
    rank                integer NOT NULL,
    discovered_at       timestamptz NOT NULL,
    PRIMARY KEY (primary_username, similar_username)
);
