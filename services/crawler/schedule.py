"""Scheduled crawls: every CRAWLER_SCHEDULE_INTERVAL_S, a run with automatic seeds when none is active."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from libs.events import EventStore, NewEvent
from libs.events.catalog import CrawlRequested, crawl_stream
from libs.runtime.loops import every
from services.crawler import repository
from services.crawler.settings import CrawlerSettings

log = structlog.get_logger(__name__)


class CrawlSchedule:
    def __init__(self, store: EventStore, settings: CrawlerSettings) -> None:
        self.store = store
        self.settings = settings
        self.interval = timedelta(seconds=settings.crawler_schedule_interval_s)

    async def loop(self, pool: asyncpg.Pool) -> None:
        tick_s = min(max(self.interval.total_seconds() / 4, 0.2), 60.0)
        await every(tick_s, lambda: self.tick(pool), "crawl.schedule")

    async def tick(self, pool: asyncpg.Pool) -> str | None:
        """Request a run if one is due; returns its run_id. Several crawler processes agree through a lock.

        The run row is written with the request, so the next tick sees it active before the crawler's
        own consumer gets the CrawlRequested back (which then finds it recorded already).
        """
        s = self.settings
        async with pool.acquire() as conn, conn.transaction():
            if not await repository.lock_schedule(conn):
                return None
            if await repository.has_active_run(conn) or not await repository.has_seedable_profiles(conn):
                return None
            last = await repository.last_scheduled_at(conn)
            if last is not None and datetime.now(UTC) - last < self.interval:
                return None
            run_id = str(uuid.uuid4())
            requested = CrawlRequested(
                run_id=run_id,
                target_profiles=s.crawler_schedule_target_profiles,
                max_rounds=s.crawler_schedule_max_rounds,
                per_seed_limit=s.crawler_schedule_per_seed_limit,
                min_followers=s.crawler_schedule_min_followers,
                exclude_private=True,
                trigger="schedule",
            )
            [envelope] = await self.store.append(
                conn, crawl_stream(run_id), [NewEvent(event=requested)], expected_version=0
            )
            await repository.insert_run(
                conn,
                requested,
                correlation_id=envelope.correlation_id,
                causation_id=envelope.event_id,
                requested_at=envelope.occurred_at,
            )
        log.info("crawl.scheduled", run_id=run_id)
        return run_id
