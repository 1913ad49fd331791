-- The event store: the source of truth every service appends to, and the outbox the relays publish from.
CREATE SCHEMA IF NOT EXISTS eventstore;

CREATE TABLE eventstore.events (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Transaction id of the writer: readers tailing by (tx_id, position) below the oldest running
    -- transaction never skip a row that commits late with a smaller position.
    tx_id           xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid NOT NULL UNIQUE,
    stream_id       text NOT NULL,
    stream_version  integer NOT NULL CHECK (stream_version >= 1),
    event_type      text NOT NULL,
    schema_version  integer NOT NULL DEFAULT 1,
    occurred_at     timestamptz NOT NULL,
    producer        text NOT NULL,
    correlation_id  uuid NOT NULL,
    causation_id    uuid,
    payload         jsonb NOT NULL,
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    published_at    timestamptz,
    CONSTRAINT events_stream_version_unique UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_unpublished_idx ON eventstore.events (producer, position) WHERE published_at IS NULL;
CREATE INDEX events_tx_position_idx ON eventstore.events (tx_id, position);
CREATE INDEX events_correlation_idx ON eventstore.events (correlation_id);
CREATE INDEX events_occurred_at_idx ON eventstore.events (occurred_at);

-- Wake the producer's relay; identical notifications in one transaction are folded by PostgreSQL.
CREATE FUNCTION eventstore.notify_appended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('eventstore_appended', NEW.producer);
    RETURN NULL;
END $$;

CREATE TRIGGER events_notify_appended AFTER INSERT ON eventstore.events
    FOR EACH ROW EXECUTE FUNCTION eventstore.notify_appended();

-- Handled event ids per consumer, written in the consumer's own transaction: a redelivered
-- event conflicts on the key and is skipped.
CREATE TABLE eventstore.inbox (
    consumer    text NOT NULL,
    event_id    uuid NOT NULL,
    handled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
