-- The crawler's own state: its runs (with a lease, so a killed worker's run resumes elsewhere), what each
-- run discovered (the dedup within and across runs), and the ingested profiles it may use as seeds.
CREATE SCHEMA IF NOT EXISTS crawler;

CREATE TABLE crawler.runs (
    run_id              uuid PRIMARY KEY,
    status              text NOT NULL CHECK (status IN ('pending', 'running', 'paused', 'completed', 'failed')),
    trigger             text NOT NULL,
    seed_usernames      text[] NOT NULL DEFAULT '{}',
    target_profiles     integer NOT NULL,
    max_rounds          integer NOT NULL,
    per_seed_limit      integer NOT NULL,
    min_followers       bigint NOT NULL,
    exclude_private     boolean NOT NULL,
    correlation_id      uuid NOT NULL,
    causation_id        uuid,
    -- The round in progress has round_seed set; between rounds it is NULL.
    round               integer NOT NULL DEFAULT 0,
    round_seed          text,
    rounds_completed    integer NOT NULL DEFAULT 0,
    seeds_used          text[] NOT NULL DEFAULT '{}',
    -- Seeds that could not be crawled (unknown, private, unreadable): never picked again in this run.
    seeds_skipped       text[] NOT NULL DEFAULT '{}',
    discovered          integer NOT NULL DEFAULT 0,
    queued              integer NOT NULL DEFAULT 0,
    skipped_duplicates  integer NOT NULL DEFAULT 0,
    skipped_low_quality integer NOT NULL DEFAULT 0,
    -- Consecutive pauses (provider outages) and unexpected errors; reset by progress.
    pauses              integer NOT NULL DEFAULT 0,
    errors              integer NOT NULL DEFAULT 0,
    last_error          text,
    lease_owner         text,
    lease_expires_at    timestamptz,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    requested_at        timestamptz NOT NULL,
    started_at          timestamptz,
    finished_at         timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (discovered = queued + skipped_duplicates + skipped_low_quality)
);
CREATE INDEX crawler_runs_active_idx ON crawler.runs (next_attempt_at)
    WHERE status IN ('pending', 'running', 'paused');

CREATE TABLE crawler.discoveries (
    run_id          uuid NOT NULL REFERENCES crawler.runs (run_id),
    username        text NOT NULL,
    round           integer NOT NULL,
    seed            text NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('queued', 'skipped_duplicate', 'skipped_low_quality')),
    reason          text,
    request_id      text,
    discovered_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, username)
);
CREATE INDEX crawler_discoveries_queued_idx ON crawler.discoveries (username) WHERE outcome = 'queued';
CREATE INDEX crawler_discoveries_order_idx ON crawler.discoveries (run_id, discovered_at);

-- Fed by ProfileIngested: the pool of automatic seeds.
CREATE TABLE crawler.known_profiles (
    username                text PRIMARY KEY,
    followers               bigint NOT NULL DEFAULT 0,
    niche                   text NOT NULL,
    is_private              boolean NOT NULL DEFAULT false,
    -- A later ingestion found it gone or private: not a seed any more.
    unavailable             boolean NOT NULL DEFAULT false,
    ingested_at             timestamptz NOT NULL,
    last_used_as_seed_at    timestamptz
);
CREATE INDEX crawler_known_profiles_seed_idx ON crawler.known_profiles (last_used_as_seed_at NULLS FIRST)
    WHERE NOT unavailable AND NOT is_private;

-- Read model of GET /api/crawler/runs/{run_id}, kept by the projector from the crawl-<run_id> events.
CREATE TABLE readmodel.crawl_runs (
    run_id              uuid PRIMARY KEY,
    status              text NOT NULL CHECK (status IN ('pending', 'running', 'paused', 'completed', 'failed')),
    trigger             text NOT NULL,
    seed_usernames      text[] NOT NULL DEFAULT '{}',
    target_profiles     integer NOT NULL,
    max_rounds          integer NOT NULL,
    per_seed_limit      integer NOT NULL,
    min_followers       bigint NOT NULL,
    exclude_private     boolean NOT NULL,
    rounds_completed    integer NOT NULL DEFAULT 0,
    seeds_used          text[] NOT NULL DEFAULT '{}',
    discovered          integer NOT NULL DEFAULT 0,
    queued              integer NOT NULL DEFAULT 0,
    skipped_duplicates  integer NOT NULL DEFAULT 0,
    skipped_low_quality integer NOT NULL DEFAULT 0,
    pauses              integer NOT NULL DEFAULT 0,
    -- Why it ended: target_reached, max_rounds_reached, no_seeds_left, or the failure.
    finish_reason       text,
    error_message       text,
    resume_at           timestamptz,
    requested_at        timestamptz NOT NULL,
    started_at          timestamptz,
    completed_at        timestamptz,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX crawl_runs_requested_idx ON readmodel.crawl_runs (requested_at DESC);
