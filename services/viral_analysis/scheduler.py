"""Re-runs finished analyses whose next_scheduled_run has come (auto re-run)."""

from __future__ import annotations

import asyncio

import asyncpg
import structlog

from libs.events import EventStore, NewEvent
from libs.events.catalog import AnalysisTriggered, analysis_stream

log = structlog.get_logger(__name__)


class RerunScheduler:
    def __init__(self, pool: asyncpg.Pool, store: EventStore, interval_s: float, wake: asyncio.Event) -> None:
        self.pool = pool
        self.store = store
        self.interval_s = interval_s
        self.wake = wake

    async def loop(self) -> None:
        while True:
            try:
                if await self.tick():
                    self.wake.set()
            except Exception as exc:  # a database blip must not end the schedule
                log.warning("scheduler.tick_failed", error=repr(exc))
            await asyncio.sleep(self.interval_s)

    async def tick(self) -> int:
        """Queue every due re-run; each job's state and its trigger event commit together."""
        triggered = 0
        async with self.pool.acquire() as conn:
            while True:
                async with conn.transaction():
                    row = await conn.fetchrow(
                        """SELECT queue_id, run FROM analysis.jobs
                           WHERE status = 'completed' AND auto_rerun_enabled AND next_scheduled_run <= now()
                           ORDER BY next_scheduled_run LIMIT 1 FOR UPDATE SKIP LOCKED"""
                    )
                    if row is None:
                        return triggered
                    queue_id = str(row["queue_id"])
                    trigger = NewEvent(
                        event=AnalysisTriggered(queue_id=queue_id, trigger="schedule", run=row["run"] + 1)
                    )
                    # The re-run's events carry the trigger's id as their correlation (a chain of its own).
                    await conn.execute(
                        """UPDATE analysis.jobs SET status = 'pending', trigger = 'schedule',
                                  triggered_at = now(), next_scheduled_run = NULL,
                                  correlation_id = $2, causation_id = $2
                           WHERE queue_id = $1""",
                        row["queue_id"],
                        trigger.event_id,
                    )
                    await self.store.append(conn, analysis_stream(queue_id), [trigger], expected_version=None)
                triggered += 1
                log.info("scheduler.rerun_triggered", queue_id=queue_id, run=row["run"] + 1)
