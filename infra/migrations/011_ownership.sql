-- Creators as users: a job belongs to the `sub` of the token that created it (NULL: anonymous, reachable
-- by whoever holds its ids). The gateway's session table records it with the request, in the same
-- transaction as the AnalysisRequested that carries it, so ownership is checked without waiting for the
-- projector; the read model carries it for the owner's lists (queue-status, check-existing).
ALTER TABLE gateway.analysis_sessions ADD COLUMN owner_id text;
-- The per-user cap on analyses running at once counts a user's sessions.
CREATE INDEX analysis_sessions_owner_idx ON gateway.analysis_sessions (owner_id) WHERE owner_id IS NOT NULL;

ALTER TABLE readmodel.viral_ideas_queue ADD COLUMN owner_id text;
CREATE INDEX viral_ideas_queue_owner_idx ON readmodel.viral_ideas_queue (owner_id, submitted_at DESC)
    WHERE owner_id IS NOT NULL;
CREATE INDEX viral_ideas_queue_anonymous_username_idx ON readmodel.viral_ideas_queue (primary_username, submitted_at DESC)
    WHERE owner_id IS NULL;

-- The summary view gains the owner (appended: CREATE OR REPLACE VIEW only adds columns at the end).
CREATE OR REPLACE VIEW readmodel.viral_queue_summary AS
SELECT q.id, q.session_id, q.primary_username, q.status, q.priority, q.progress_percentage,
       q.current_step, q.error_message, q.submitted_at, q.started_processing_at, q.completed_at,
       q.auto_rerun_enabled, q.rerun_frequency_hours, q.total_runs, q.current_run, q.last_analysis_at,
       q.next_scheduled_run, q.analysis_settings,
       q.content_strategy ->> 'contentType' AS content_type,
       q.content_strategy ->> 'targetAudience' AS target_audience,
       q.content_strategy ->> 'goals' AS main_goals,
       q.content_strategy AS full_content_strategy,
       count(c.competitor_username) FILTER (WHERE c.is_active) AS active_competitors_count,
       count(c.competitor_username) AS total_competitors_count,
       q.owner_id
FROM readmodel.viral_ideas_queue q
LEFT JOIN readmodel.viral_ideas_competitors c ON c.queue_id = q.id
GROUP BY q.id;

-- Every run of a job, its trigger, outcome and timings (GET /api/viral-ideas/queue/{queue_id}/runs).
CREATE TABLE readmodel.viral_analysis_runs (
    queue_id                uuid NOT NULL,
    run                     integer NOT NULL,
    trigger                 text NOT NULL,
    outcome                 text NOT NULL CHECK (outcome IN ('queued', 'running', 'completed', 'failed', 'retrying', 'cancelled')),
    requested_by            text,
    requested_at            timestamptz NOT NULL,
    started_at              timestamptz,
    finished_at             timestamptz,
    processing_time_seconds double precision,
    error_message           text,
    PRIMARY KEY (queue_id, run)
);
-- /process answers its run's place among the manual runs waiting, and estimates from measured runs.
CREATE INDEX viral_analysis_runs_queued_idx ON readmodel.viral_analysis_runs (trigger, requested_at)
    WHERE outcome = 'queued';
CREATE INDEX viral_analysis_runs_finished_idx ON readmodel.viral_analysis_runs (finished_at)
    WHERE outcome = 'completed';
