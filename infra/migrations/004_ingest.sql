-- profile-ingest's own state: the work it took on, and what it fetched.
CREATE SCHEMA IF NOT EXISTS ingest;

CREATE TABLE ingest.requests (
    request_id      text PRIMARY KEY,
    username        text NOT NULL,
    priority        text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    requested_at    timestamptz NOT NULL,
    started_at      timestamptz,
    finished_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ingest_requests_username_idx ON ingest.requests (username);

CREATE TABLE ingest.profiles (
    username        text PRIMARY KEY,
    profile         jsonb NOT NULL,
    fetched_at      timestamptz NOT NULL
);

CREATE TABLE ingest.reels (
    content_id      text PRIMARY KEY,
    username        text NOT NULL,
    reel            jsonb NOT NULL,
    fetched_at      timestamptz NOT NULL
);
CREATE INDEX ingest_reels_username_idx ON ingest.reels (username);
