"""Watched creators fetched again on a schedule, through the profile work queue at MEDIUM priority
(between a user's HIGH request and the crawler's LOW ones). A creator is due once its last request (or
any ingestion of it) is ALERTS_REFRESH_INTERVAL_S old; each tick requests at most
ALERTS_REFRESH_PER_TICK of them, the longest waiting first: the provider budget, whatever the size of
the watchlists. Replicas take turns through a lock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from libs.events import EventStore
from libs.refetch import request_refetch
from libs.runtime.loops import every
from services.alerts import metrics, repository
from services.alerts.settings import AlertsSettings

log = structlog.get_logger(__name__)


class Refresh:
    def __init__(self, store: EventStore, settings: AlertsSettings) -> None:
        self.store = store
        self.interval = timedelta(seconds=settings.alerts_refresh_interval_s)
        self.per_tick = settings.alerts_refresh_per_tick
        self.tick_s = settings.alerts_refresh_tick_s

    async def loop(self, pool: asyncpg.Pool) -> None:
        await every(self.tick_s, lambda: self.tick(pool), "alerts.refresh")

    async def tick(self, pool: asyncpg.Pool) -> list[str]:
        """Requests the due creators; returns those requested. One transaction: the refresh times and
        the ProfileRequested events commit together, so a crash re-requests nothing twice."""
        now = datetime.now(UTC)
        requested: list[str] = []
        async with pool.acquire() as conn, conn.transaction():
            if not await repository.lock_refresh(conn):
                return []
            for username in await repository.due_for_refresh(conn, now - self.interval, self.per_tick):
                if await request_refetch(self.store, conn, username, source="watchlist", priority="MEDIUM"):
                    requested.append(username)
                await repository.mark_requested(conn, username, now)
        metrics.REFRESHES.inc(len(requested))
        if requested:
            log.info("alerts.refresh_requested", profiles=len(requested))
        return requested
