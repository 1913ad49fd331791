-- Events the outbox relay could not publish after bounded retries (the broker refused them, or they
-- cannot be encoded). While a row is unresolved, the stream's later events of the same producer wait
-- behind it; `viralspot outbox retry` resolves it as 'retried' (the relay tries again, and parks it
-- anew if it still fails), `viralspot outbox skip` as 'skipped' (marked published without sending).
CREATE TABLE eventstore.parked_events (
    event_id    uuid PRIMARY KEY REFERENCES eventstore.events (event_id),
    position    bigint NOT NULL,
    producer    text NOT NULL,
    stream_id   text NOT NULL,
    event_type  text NOT NULL,
    reason      text NOT NULL,
    attempts    integer NOT NULL,
    parked_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolution  text CHECK (resolution IN ('retried', 'skipped')),
    CHECK ((resolved_at IS NULL) = (resolution IS NULL))
);
-- The relay's "is this stream held?" look-up, on unresolved rows only.
CREATE INDEX parked_events_held_idx ON eventstore.parked_events (producer, stream_id) WHERE resolved_at IS NULL;
