-- Read models kept by the projector; the gateway only reads them.
CREATE SCHEMA IF NOT EXISTS readmodel;

-- Last applied version per stream: the projector's checkpoint and its duplicate filter.
CREATE TABLE readmodel.stream_checkpoints (
    stream_id   text PRIMARY KEY,
    version     integer NOT NULL
);

-- The seeds' `queue` table: one row per profile request.
CREATE TABLE readmodel.profile_queue (
    request_id      text PRIMARY KEY,
    username        text NOT NULL,
    source          text NOT NULL,
    priority        text NOT NULL CHECK (priority IN ('HIGH', 'MEDIUM', 'LOW')),
    status          text NOT NULL CHECK (status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED')),
    "timestamp"     timestamptz NOT NULL,
    last_attempt    timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    error_message   text,
    started_at      timestamptz,
    completed_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX profile_queue_username_idx ON readmodel.profile_queue (username, "timestamp" DESC);
CREATE INDEX profile_queue_active_idx ON readmodel.profile_queue (priority, "timestamp")
    WHERE status IN ('PENDING', 'PROCESSING');
