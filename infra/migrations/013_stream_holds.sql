-- Sequenced dead letters (issue 17): a stream whose event the projector dead-lettered is held at that
-- event. Its later events are not projected past it (they wait, read back from the store) until the
-- dead letter is requeued and applies, or an operator releases the stream (`viralspot readmodels`).
ALTER TABLE readmodel.stream_checkpoints
    ADD COLUMN held_version  integer,
    ADD COLUMN held_event_id uuid,
    ADD COLUMN held_reason   text,
    ADD COLUMN held_at       timestamptz;

-- The held streams, for the metric and the command; a handful at most, so a partial index.
CREATE INDEX stream_checkpoints_held_idx ON readmodel.stream_checkpoints (held_at)
    WHERE held_version IS NOT NULL;
