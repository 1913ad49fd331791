"""The crawler's Prometheus metrics."""

from prometheus_client import Counter

RUNS = Counter(
    "viralspot_crawler_runs_total",
    "Crawl run transitions by outcome (started, resumed, paused, completed, failed)",
    ["outcome"],
)
PROFILES_DISCOVERED = Counter(
    "viralspot_crawler_profiles_discovered_total",
    "Accounts a crawl considered, by outcome (queued, skipped_duplicate, skipped_low_quality)",
    ["outcome"],
)
SEEDS_SKIPPED = Counter(
    "viralspot_crawler_seeds_skipped_total", "Seeds that could not be crawled, by reason", ["reason"]
)
