"""Re-runs finished analyses whose next_scheduled_run has come (auto re-run)."""

from __future__ import annotations

import asyncio

import asyncpg
import structlog

from libs.events import EventStore, NewEvent
from libs.events.catalog import analysis_stream
from services.viral_analysis import repository
from services.viral_analysis.domain import scheduled_rerun

log = structlog.get_logger(__name__)


class RerunScheduler:
    def __init__(self, store: EventStore, interval_s: float, wake: asyncio.Event) -> None:
        self.store = store
        self.interval_s = interval_s
        self.wake = wake

    async def loop(self, pool: asyncpg.Pool) -> None:
        while True:
            try:
                if await self.tick(pool):
                    self.wake.set()
            except Exception as exc:  # a database blip must not end the schedule
                log.warning("scheduler.tick_failed", error=repr(exc))
            await asyncio.sleep(self.interval_s)

    async def tick(self, pool: asyncpg.Pool) -> int:
        """Queue every due re-run, once; each job's state and its trigger event commit together."""
        triggered = 0
        async with pool.acquire() as conn:
            while True:
                async with conn.transaction():
                    due = await repository.next_due_rerun(conn)
                    if due is None:
                        return triggered
                    queue_id, last_run = due
                    trigger = NewEvent(event=scheduled_rerun(queue_id, last_run))
                    await repository.queue_rerun(conn, queue_id, trigger.event_id)
                    await self.store.append(conn, analysis_stream(queue_id), [trigger], expected_version=None)
                triggered += 1
                log.info("scheduler.rerun_triggered", queue_id=queue_id, run=last_run + 1)
