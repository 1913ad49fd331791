-- Fair limits (services/gateway/limits.py): one token bucket per caller and action, kept here so every
-- gateway replica takes from the same bucket.
CREATE TABLE gateway.rate_buckets (
    bucket      text PRIMARY KEY,
    tokens      double precision NOT NULL,
    refilled_at timestamptz NOT NULL
);
-- Buckets untouched for long are full again, so the same as no row: the gateway purges them by this.
CREATE INDEX rate_buckets_refilled_idx ON gateway.rate_buckets (refilled_at);

-- Takes one token from `bucket` (at most `capacity`, refilled at `per_second`): 0 when one was taken,
-- else the seconds until one is there (nothing is taken). The upsert locks the row, so replicas racing
-- on a bucket, a new one included, take one after the other until the transaction ends.
-- clock_timestamp(), not now(): a caller's transaction may be old, the refill must see real time.
CREATE FUNCTION gateway.take_token(p_bucket text, p_capacity double precision, p_per_second double precision)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz := clock_timestamp();
    have double precision;
BEGIN
    INSERT INTO gateway.rate_buckets AS b (bucket, tokens, refilled_at)
    VALUES (p_bucket, p_capacity, at)
    ON CONFLICT (bucket) DO UPDATE
        SET tokens = least(p_capacity,
                           b.tokens + greatest(0, extract(epoch FROM at - b.refilled_at)) * p_per_second),
            refilled_at = greatest(b.refilled_at, at)
    RETURNING tokens INTO have;
    IF have >= 1 THEN
        UPDATE gateway.rate_buckets SET tokens = have - 1 WHERE bucket = p_bucket;
        RETURN 0;
    END IF;
    RETURN (1 - have) / p_per_second;
END
$$;
