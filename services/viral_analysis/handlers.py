"""Commands about analysis jobs, applied to the service's own job table (in the consumer's transaction)."""

from __future__ import annotations

import asyncio

import asyncpg
import orjson
import structlog

from libs.events import Envelope, Event
from libs.events.catalog import AnalysisCancelled, AnalysisRequested, AnalysisTriggered
from libs.events.consumer import Handlers
from libs.events.db import connect

log = structlog.get_logger(__name__)


# Workers wake on this notification, which PostgreSQL delivers only once the job change committed
# (setting an in-process event inside the transaction let a worker look before the row was there).
JOBS_CHANNEL = "analysis_jobs"


async def notify_workers(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_notify($1, '')", JOBS_CHANNEL)


async def listen_for_jobs(dsn: str, wake: asyncio.Event) -> None:
    """Set `wake` on every committed job change; raises (to be restarted) if the connection drops."""
    conn = await connect(dsn)
    closed = asyncio.Event()
    try:
        conn.add_termination_listener(lambda _conn: closed.set())
        await conn.add_listener(JOBS_CHANNEL, lambda *_: wake.set())
        wake.set()  # changes made while not listening are found by the next claim
        await closed.wait()
        raise ConnectionError("the job notification connection closed")
    finally:
        await conn.close(timeout=2)


class JobCommands:
    """The job table is the hand-over to the runner; a notification after commit nudges it."""

    def handlers(self) -> Handlers:
        return {
            AnalysisRequested: self.on_requested,
            AnalysisTriggered: self.on_triggered,
            AnalysisCancelled: self.on_cancelled,
        }

    async def on_requested(self, conn: asyncpg.Connection, e: Envelope, event: Event) -> None:
        assert isinstance(event, AnalysisRequested)
        await conn.execute(
            """INSERT INTO analysis.jobs (queue_id, session_id, primary_username, competitors,
                   content_strategy, analysis_settings, priority, auto_rerun_enabled,
                   rerun_frequency_hours, status, trigger, submitted_at, triggered_at,
                   correlation_id, causation_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 'queued', $10, $10, $11, $12)
               ON CONFLICT (queue_id) DO NOTHING""",
            event.queue_id,
            event.session_id,
            event.primary_username,
            event.competitors,
            orjson.loads(event.content_strategy.model_dump_json()),
            event.analysis_settings,
            event.priority,
            event.auto_rerun_enabled,
            event.rerun_frequency_hours,
            e.occurred_at,
            e.correlation_id,
            e.event_id,
        )
        await notify_workers(conn)

    async def on_triggered(self, conn: asyncpg.Connection, e: Envelope, event: Event) -> None:
        assert isinstance(event, AnalysisTriggered)
        result = await conn.execute(
            """UPDATE analysis.jobs SET status = 'pending', trigger = $2, triggered_at = $3,
                      cancel_requested = false, correlation_id = $4, causation_id = $5
               WHERE queue_id = $1 AND status <> 'processing'""",
            event.queue_id,
            event.trigger,
            e.occurred_at,
            e.correlation_id,
            e.event_id,
        )
        if result == "UPDATE 0":
            log.info("analysis.trigger_ignored_while_running", queue_id=event.queue_id, trigger=event.trigger)
        await notify_workers(conn)

    async def on_cancelled(self, conn: asyncpg.Connection, e: Envelope, event: Event) -> None:
        assert isinstance(event, AnalysisCancelled)
        # A pending job is simply dropped; a running one stops at its next step.
        await conn.execute(
            """UPDATE analysis.jobs
                  SET status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
                      cancel_requested = (status = 'processing')
               WHERE queue_id = $1 AND status IN ('pending', 'processing')""",
            event.queue_id,
        )
