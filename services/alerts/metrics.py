from __future__ import annotations

from prometheus_client import Counter, Histogram

OUTLIERS_DETECTED = Counter("viralspot_alerts_outliers_detected_total", "OutlierDetected events appended")
REFRESHES = Counter(
    "viralspot_alerts_refreshes_total", "Watched creators requested again (MEDIUM ProfileRequested)"
)
DELIVERY_ATTEMPTS = Counter(
    "viralspot_webhook_delivery_attempts_total", "Webhook delivery attempts by outcome", ["state"]
)
DELIVERY_SECONDS = Histogram(
    "viralspot_webhook_delivery_seconds",
    "From a delivery being owed (its alert handled) to its 2xx answer, first attempts and retries alike",
    buckets=(0.05, 0.1, 0.2, 0.5, 1, 2, 5, 30, 300, 3600, 86400),
)
