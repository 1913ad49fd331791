-- The competitor picker (issue 16): each username's similar accounts as last fetched on demand
-- (stream similar-<username>). One row per username: the latest request, and the accounts of the
-- latest fetch in the provider's order (kept while a newer request is pending). The gateway serves
-- them for PICKER_CACHE_HOURS after fetched_at, and waits on request_id for a new fetch.
CREATE TABLE readmodel.similar_fetches (
    username        text PRIMARY KEY,
    request_id      text NOT NULL,
    priority        text NOT NULL CHECK (priority IN ('HIGH', 'MEDIUM', 'LOW')),
    status          text NOT NULL CHECK (status IN ('PENDING', 'COMPLETED', 'FAILED')),
    requested_at    timestamptz NOT NULL,
    fetched_at      timestamptz,
    accounts        jsonb NOT NULL DEFAULT '[]',
    error_code      text,
    error_message   text,
    updated_at      timestamptz NOT NULL
);

-- Why an ingestion failed (ACCOUNT_NOT_FOUND, ACCOUNT_PRIVATE, ...): the picker's add-competitor
-- answers 404 or 422 from it. Null for failures projected before this migration.
ALTER TABLE readmodel.profile_queue ADD COLUMN error_code text;
