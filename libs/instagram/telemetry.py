"""Prometheus series for every provider call, in the default registry."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PROVIDER_CALLS = Counter(
    "viralspot_provider_calls_total",
    "Provider calls by final outcome, counted once per call whatever the retries",
    ["provider", "endpoint", "outcome"],
)
PROVIDER_LATENCY = Histogram(
    "viralspot_provider_latency_seconds",
    "Latency of each HTTP attempt to the provider",
    ["provider", "endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0),
)
PROVIDER_RETRIES = Counter(
    "viralspot_provider_retries_total",
    "Provider attempts that were retried, by why",
    ["provider", "endpoint", "reason"],
)
