-- Viral ideas analysis. The gateway owns one table (session ids are unique: a second job for a
-- session is refused in the same transaction that would have appended it).
CREATE SCHEMA IF NOT EXISTS gateway;
CREATE TABLE gateway.analysis_sessions (
    session_id  text PRIMARY KEY,
    queue_id    uuid NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- viral-analysis's own state: jobs with a lease on the running one, results stored once per run.
CREATE SCHEMA IF NOT EXISTS analysis;
CREATE TABLE analysis.jobs (
    queue_id            uuid PRIMARY KEY,
    session_id          text NOT NULL,
    primary_username    text NOT NULL,
    competitors         jsonb NOT NULL,
    content_strategy    jsonb NOT NULL,
    analysis_settings   jsonb NOT NULL,
    priority            integer NOT NULL,
    auto_rerun_enabled  boolean NOT NULL,
    rerun_frequency_hours integer NOT NULL,
    status              text NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    trigger             text NOT NULL DEFAULT 'queued',
    run                 integer NOT NULL DEFAULT 0,
    submitted_at        timestamptz NOT NULL,
    triggered_at        timestamptz NOT NULL,
    lease_owner         text,
    lease_expires_at    timestamptz,
    cancel_requested    boolean NOT NULL DEFAULT false,
    last_completed_at   timestamptz,
    next_scheduled_run  timestamptz,
    -- The request (or trigger) a run answers: its events carry this correlation, for the causal chain.
    correlation_id      uuid,
    causation_id        uuid
);
CREATE INDEX analysis_jobs_pickup_idx ON analysis.jobs (priority, triggered_at) WHERE status = 'pending';
CREATE INDEX analysis_jobs_lease_idx ON analysis.jobs (lease_expires_at) WHERE status = 'processing';
CREATE INDEX analysis_jobs_rerun_idx ON analysis.jobs (next_scheduled_run)
    WHERE status = 'completed' AND auto_rerun_enabled;

CREATE TABLE analysis.results (
    queue_id    uuid NOT NULL,
    run         integer NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (queue_id, run)
);

CREATE TABLE analysis.transcripts (
    shortcode   text PRIMARY KEY,
    transcript  text,
    fetched_at  timestamptz NOT NULL
);

-- Read models (the seeds' tables).
CREATE TABLE readmodel.viral_ideas_queue (
    id                      uuid PRIMARY KEY,
    session_id              text NOT NULL UNIQUE,
    primary_username        text NOT NULL,
    status                  text NOT NULL,
    priority                integer NOT NULL,
    progress_percentage     integer NOT NULL DEFAULT 0,
    current_step            text,
    error_message           text,
    content_strategy        jsonb NOT NULL,
    analysis_settings       jsonb NOT NULL DEFAULT '{}'::jsonb,
    submitted_at            timestamptz NOT NULL,
    started_processing_at   timestamptz,
    completed_at            timestamptz,
    auto_rerun_enabled      boolean NOT NULL,
    rerun_frequency_hours   integer NOT NULL,
    total_runs              integer NOT NULL DEFAULT 0,
    current_run             integer NOT NULL DEFAULT 0,
    last_analysis_at        timestamptz,
    next_scheduled_run      timestamptz,
    updated_at              timestamptz NOT NULL
);
CREATE INDEX viral_ideas_queue_status_idx ON readmodel.viral_ideas_queue (status, priority, submitted_at);
CREATE INDEX viral_ideas_queue_username_idx ON readmodel.viral_ideas_queue (primary_username, submitted_at DESC);

CREATE TABLE readmodel.viral_ideas_competitors (
    queue_id            uuid NOT NULL,
    competitor_username text NOT NULL,
    processing_status   text NOT NULL DEFAULT 'pending',
    selection_method    text NOT NULL DEFAULT 'manual',
    is_active           boolean NOT NULL DEFAULT true,
    error_message       text,
    added_at            timestamptz NOT NULL,
    position            integer NOT NULL,
    PRIMARY KEY (queue_id, competitor_username)
);

CREATE TABLE readmodel.viral_analysis_results (
    queue_id                uuid NOT NULL,
    analysis_run            integer NOT NULL,
    analysis_type           text NOT NULL,
    status                  text NOT NULL,
    workflow_version        text NOT NULL,
    total_reels_analyzed    integer NOT NULL,
    primary_reels_count     integer NOT NULL,
    competitor_reels_count  integer NOT NULL,
    transcripts_fetched     integer NOT NULL,
    analysis_data           jsonb NOT NULL,
    started_at              timestamptz NOT NULL,
    analysis_completed_at   timestamptz NOT NULL,
    processing_time_seconds double precision NOT NULL,
    PRIMARY KEY (queue_id, analysis_run)
);

CREATE TABLE readmodel.viral_analysis_reels (
    queue_id        uuid NOT NULL,
    analysis_run    integer NOT NULL,
    content_id      text NOT NULL,
    username        text NOT NULL,
    reel_type       text NOT NULL CHECK (reel_type IN ('primary', 'competitor')),
    rank            integer NOT NULL,
    shortcode       text NOT NULL,
    url             text NOT NULL,
    description     text,
    view_count      bigint,
    like_count      bigint NOT NULL DEFAULT 0,
    comment_count   bigint NOT NULL DEFAULT 0,
    outlier_score   double precision NOT NULL,
    date_posted     timestamptz,
    transcript      text,
    PRIMARY KEY (queue_id, analysis_run, content_id)
);

CREATE TABLE readmodel.viral_scripts (
    queue_id        uuid NOT NULL,
    analysis_run    integer NOT NULL,
    script_index    integer NOT NULL,
    hook            text NOT NULL,
    script          jsonb NOT NULL,
    PRIMARY KEY (queue_id, analysis_run, script_index)
);

-- The seeds' summary view, with current_step and error_message (which the seeds forgot).
CREATE VIEW readmodel.viral_queue_summary AS
SELECT q.id, q.session_id, q.primary_username, q.status, q.priority, q.progress_percentage,
       q.current_step, q.error_message, q.submitted_at, q.started_processing_at, q.completed_at,
       q.auto_rerun_enabled, q.rerun_frequency_hours, q.total_runs, q.current_run, q.last_analysis_at,
       q.next_scheduled_run, q.analysis_settings,
       q.content_strategy ->> 'contentType' AS content_type,
       q.content_strategy ->> 'targetAudience' AS target_audience,
       q.content_strategy ->> 'goals' AS main_goals,
       q.content_strategy AS full_content_strategy,
       count(c.competitor_username) FILTER (WHERE c.is_active) AS active_competitors_count,
       count(c.competitor_username) AS total_competitors_count
FROM readmodel.viral_ideas_queue q
LEFT JOIN readmodel.viral_ideas_competitors c ON c.queue_id = q.id
GROUP BY q.id;
