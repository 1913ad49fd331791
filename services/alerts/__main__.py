"""alerts: watchlists and outlier alerts (issue 15). Watched creators are fetched again on a schedule at
MEDIUM priority; an ingestion whose reel crosses a watcher's threshold becomes an OutlierDetected, shown
in the user's alert feed and delivered, signed, to their webhooks."""

from __future__ import annotations

import asyncpg

from libs.runtime import ServiceRuntime, run
from services.alerts.deliveries import Deliveries
from services.alerts.handlers import CONSUMER, HANDLERS
from services.alerts.refresh import Refresh
from services.alerts.settings import AlertsSettings


def build(settings: AlertsSettings) -> ServiceRuntime:
    if not settings.webhook_signing_key.get_secret_value():
        raise SystemExit("WEBHOOK_SIGNING_KEY is not set: webhook deliveries could not be signed")
    runtime = ServiceRuntime("alerts", settings)

    def pool() -> asyncpg.Pool:
        assert runtime.pool is not None, "background loops start after the runtime's pool"
        return runtime.pool

    runtime.add_consumer(CONSUMER, HANDLERS)
    refresh = Refresh(runtime.store, settings)
    runtime.add_background("watch-refresh", lambda: refresh.loop(pool()))
    deliveries = Deliveries(runtime.store, settings)
    runtime.add_background("webhook-deliveries", lambda: deliveries.loop(pool()))
    return runtime


async def main() -> None:
    await build(AlertsSettings()).run_until_signalled()


if __name__ == "__main__":
    run(main, "alerts", AlertsSettings().log_level)
