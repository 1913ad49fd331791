-- Idempotency-Key (Stripe's convention) on the gateway's creating POSTs: the first answer is kept with
-- a fingerprint of the request, written in the same transaction as the events it appended, so a retry
-- after a lost answer gets that answer again instead of creating a second run. Kept 24 hours.
CREATE TABLE gateway.idempotency_keys (
    scope       text NOT NULL,          -- method and route: a key is the client's, per endpoint
    key         text NOT NULL,
    fingerprint bytea NOT NULL,         -- sha256 of method, path, query and body
    status      integer NOT NULL,       -- 0 while being answered (seen only by its own transaction)
    body        bytea NOT NULL,
    headers     jsonb NOT NULL DEFAULT '{}',  -- what the answer set besides its body (Location)
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON gateway.idempotency_keys (created_at);
