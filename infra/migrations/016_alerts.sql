-- Watchlists, outlier alerts and webhooks (issue 15). The alerts service's own state (schema alerts):
-- who watches whom, what it has alerted, when it last asked for a watched creator, the endpoints, and
-- the deliveries it owes (its retry queue). The read models the gateway serves are in readmodel.
CREATE SCHEMA IF NOT EXISTS alerts;

CREATE TABLE alerts.watches (
    user_id            text NOT NULL,
    username           text NOT NULL,
    min_outlier_score  double precision NOT NULL,
    alert_from         timestamptz NOT NULL,  -- reels posted from then on are alerted
    PRIMARY KEY (username, user_id)  -- by creator first: an ingestion looks its watchers up
);

-- When the refresh loop last asked for each watched creator (MEDIUM ProfileRequested).
CREATE TABLE alerts.refreshes (
    username           text PRIMARY KEY,
    requested_at       timestamptz NOT NULL
);

-- Once per user, reel and threshold, whatever the redeliveries: the row and the OutlierDetected
-- commit together.
CREATE TABLE alerts.detections (
    user_id       text NOT NULL,
    content_id    text NOT NULL,
    threshold     double precision NOT NULL,
    event_id      uuid NOT NULL,
    detected_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, content_id, threshold)
);

CREATE TABLE alerts.endpoints (
    endpoint_id   text PRIMARY KEY,
    user_id       text NOT NULL,
    url           text NOT NULL,
    removed       boolean NOT NULL DEFAULT false,
    failing       boolean NOT NULL DEFAULT false
);
CREATE INDEX endpoints_user_idx ON alerts.endpoints (user_id) WHERE NOT removed;

-- The deliveries owed: one per endpoint and alert. `sending` holds a claimed attempt until
-- claimed_until; a worker killed meanwhile leaves it to be counted failed and tried again (a new
-- attempt number: one attempt is never sent twice).
CREATE TABLE alerts.deliveries (
    delivery_id       uuid PRIMARY KEY,
    endpoint_id       text NOT NULL REFERENCES alerts.endpoints (endpoint_id),
    user_id           text NOT NULL,
    alert_event_id    uuid NOT NULL,
    body              bytea NOT NULL,
    state             text NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'gave_up')),
    attempts          integer NOT NULL DEFAULT 0,
    first_attempt_at  timestamptz,
    next_attempt_at   timestamptz NOT NULL,
    claimed_until     timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, alert_event_id)
);
CREATE INDEX deliveries_due_idx ON alerts.deliveries (next_attempt_at) WHERE state IN ('pending', 'sending');

-- Read models. A watchlist has none: the gateway folds the user's watchlist stream (small, and fresh
-- right after a change).
CREATE TABLE readmodel.alerts (
    event_id           uuid PRIMARY KEY,
    user_id            text NOT NULL,
    username           text NOT NULL,
    content_id         text NOT NULL,
    shortcode          text NOT NULL,
    url                text NOT NULL,
    view_count         bigint NOT NULL,
    outlier_score      double precision NOT NULL,
    threshold          double precision NOT NULL,
    median_views       double precision,
    date_posted        timestamptz,
    description        text,
    detected_at        timestamptz NOT NULL,
    position           bigint NOT NULL  -- the feed's order: the event's stream version
);
-- A user's feed, newest first (keyset pagination on position).
CREATE INDEX alerts_user_feed_idx ON readmodel.alerts (user_id, position DESC);

CREATE TABLE readmodel.webhook_endpoints (
    endpoint_id        text PRIMARY KEY,
    user_id            text NOT NULL,
    url                text NOT NULL,
    description        text NOT NULL,
    status             text NOT NULL CHECK (status IN ('active', 'failing', 'removed')),
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_user_idx ON readmodel.webhook_endpoints (user_id, created_at);

CREATE TABLE readmodel.webhook_deliveries (
    delivery_id        text PRIMARY KEY,
    endpoint_id        text NOT NULL,
    user_id            text NOT NULL,
    alert_event_id     text NOT NULL,
    state              text NOT NULL,
    attempts           integer NOT NULL,
    status_code        integer,
    error              text,
    duration_ms        double precision,
    next_attempt_at    timestamptz,
    first_attempt_at   timestamptz NOT NULL,
    last_attempt_at    timestamptz NOT NULL,
    history            jsonb NOT NULL DEFAULT '[]'  -- the attempts, oldest first, the last 30
);
CREATE INDEX webhook_deliveries_endpoint_idx ON readmodel.webhook_deliveries (endpoint_id, first_attempt_at DESC);
