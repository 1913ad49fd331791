-- The discovery feed (GET /api/reels, /api/posts, /api/filter-options): categories of creators and of
-- their reels and posts (ProfileCategorised, ReelsCategorised), and what the feed filters and sorts on
-- kept on the content rows themselves, so one index walk answers a page. The feed's indexes are in 010.

ALTER TABLE readmodel.primary_profiles
    ADD COLUMN primary_category   text,
    ADD COLUMN secondary_category text,
    ADD COLUMN tertiary_category  text,
    ADD COLUMN keywords           text[] NOT NULL DEFAULT '{}',
    ADD COLUMN language           text,
    ADD COLUMN classifier         text,
    ADD COLUMN categorised_at     timestamptz;

ALTER TABLE readmodel.content
    -- Posts (images, carousels) beside the reels; a post has no views.
    ADD COLUMN post_type       text NOT NULL DEFAULT 'reel' CHECK (post_type IN ('reel', 'image', 'carousel')),
    ADD COLUMN carousel_count  integer,
    -- The reel's own categories (ReelsCategorised).
    ADD COLUMN category        text,
    ADD COLUMN keywords        text[] NOT NULL DEFAULT '{}',
    ADD COLUMN language        text,
    ADD COLUMN content_style   text,
    ADD COLUMN hook_type       text,
    ADD COLUMN categorised_at  timestamptz,
    -- The creator's, copied from primary_profiles whenever either changes: the feed filters and sorts
    -- on them without a join.
    ADD COLUMN creator_primary_category   text,
    ADD COLUMN creator_secondary_category text,
    ADD COLUMN creator_tertiary_category  text,
    ADD COLUMN creator_followers          bigint,
    ADD COLUMN creator_verified           boolean,
    ADD COLUMN creator_account_type       text,
    ADD COLUMN creator_engagement_rate    double precision,
    ADD COLUMN creator_reels              integer,
    -- The niche window of the niche score: the calendar month the reel was posted in (UTC).
    ADD COLUMN month date GENERATED ALWAYS AS ((date_trunc('month', date_posted AT TIME ZONE 'UTC'))::date) STORED,
    -- Full-text search over what was written and what was said ('simple': no language's stemming).
    ADD COLUMN search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', coalesce(description, '') || ' ' || coalesce(transcript, ''))) STORED,
    -- A fixed pseudo-random order of the reels; a session's random order starts at a point of its own.
    ADD COLUMN shuffle_key integer GENERATED ALWAYS AS (hashtext(content_id)) STORED;

-- The niche baseline: median views of a category's reels posted in one month, over the reels held.
CREATE TABLE readmodel.niche_baselines (
    category     text NOT NULL,
    month        date NOT NULL,
    median_views double precision NOT NULL,
    reels        integer NOT NULL,
    PRIMARY KEY (category, month)
);

-- How many items carry each filter value (GET /api/filter-options), kept by the projector as content
-- changes, so the answer is one small read.
CREATE TABLE readmodel.content_facets (
    post_type text NOT NULL,
    facet     text NOT NULL CHECK (facet IN ('primary_category', 'secondary_category', 'tertiary_category',
                                             'category', 'keyword', 'language', 'content_style',
                                             'account_type')),
    value     text NOT NULL,
    items     integer NOT NULL CHECK (items >= 0),
    PRIMARY KEY (post_type, facet, value)
);
