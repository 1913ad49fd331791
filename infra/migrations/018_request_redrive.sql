-- profile-ingest's redrive (services/profile_ingest/redrive.py) looks up the requests published during
-- an outage of the profile work queue's node: a small index over the events that queue takes only.
CREATE INDEX events_requests_published_idx ON eventstore.events (published_at)
    WHERE event_type IN ('ProfileRequested', 'ProfileRequestPromoted', 'SimilarAccountsRequested');
