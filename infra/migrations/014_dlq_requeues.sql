-- Dead letters `viralspot dlq requeue` has sent back (issue 17): one row per dead-lettering of a message
-- (its id and its x-failed-at), written once the broker confirmed the copy and before the dead letter
-- is acked. A run that died in between finds the row and removes the dead letter without sending it
-- again; the same event dead-lettered anew (a later x-failed-at) is a new row and is requeued.
CREATE TABLE eventstore.dlq_requeues (
    consumer     text        NOT NULL,
    message_key  text        NOT NULL,
    failed_at    text        NOT NULL,
    requeued_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_key, failed_at)
);

-- Old rows are worthless once their dead letters are gone; purged by age.
CREATE INDEX dlq_requeues_requeued_at_idx ON eventstore.dlq_requeues (requeued_at);
