"""Prometheus metrics of the event backbone, labelled by service so one dashboard serves all."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter(
    "viralspot_events_published_total",
    "Events published to the broker by the outbox relay",
    ["service", "event_type"],
)
EVENTS_CONSUMED = Counter(
    "viralspot_events_consumed_total",
    "Events taken off a queue, by outcome (handled, duplicate, ignored, diverted, retried, deferred, "
    "newer_schema, dead_lettered)",
    ["service", "consumer", "event_type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "viralspot_handler_duration_seconds",
    "Time to handle one event, commit included",
    ["service", "consumer", "event_type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RETRIES = Counter(
    "viralspot_event_retries_total",
    "Events sent to a delay queue for a later retry",
    ["service", "consumer", "event_type"],
)
NEWER_SCHEMA_REQUEUES = Counter(
    "viralspot_newer_schema_requeues_total",
    "Events sent round the delay queues for a newer replica: written at a schema version newer than this "
    "code knows (a rolling deploy); never dead-lettered for it",
    ["service", "consumer", "event_type"],
)
DEAD_LETTERS = Counter(
    "viralspot_dead_letters_total", "Events parked in a dead-letter queue", ["service", "consumer", "reason"]
)
OUTBOX_BACKLOG = Gauge(
    "viralspot_outbox_backlog", "Committed events not yet published by this service's relay", ["service"]
)
OUTBOX_PARKED = Gauge(
    "viralspot_outbox_parked",
    "Events this service's relay parked (unpublishable after bounded retries) and nobody released yet",
    ["service"],
)
EVENTS_PARKED = Counter(
    "viralspot_events_parked_total", "Events the outbox relay parked as unpublishable", ["service"]
)
RELAY_FAILURES = Counter(
    "viralspot_relay_failures_total",
    "Outbox relay rounds that failed (broker or database unavailable, publish not confirmed in time)",
    ["service"],
)
RELAY_BATCH_SECONDS = Histogram(
    "viralspot_relay_batch_seconds", "Time to publish and mark one outbox batch", ["service"]
)
QUEUE_MESSAGES = Gauge(
    "viralspot_queue_messages",
    "Messages ready in a consumer's work queue or parked in its dead-letter queue, as the broker reports",
    ["consumer", "queue"],
)
