"""viral-analysis's consumer: commands about jobs change the job table (in the consumer's transaction),
the hand-over to the runner; a notification after commit wakes it."""

from __future__ import annotations

import asyncpg
import structlog

from libs.events import Envelope
from libs.events.catalog import AnalysisCancelled, AnalysisRequested, AnalysisTriggered, AnalysisUpdated
from libs.events.consumer import Handlers
from services.viral_analysis import repository

log = structlog.get_logger(__name__)

CONSUMER = "viral-analysis"


async def on_requested(conn: asyncpg.Connection, envelope: Envelope, event: AnalysisRequested) -> None:
    await repository.insert_job(
        conn,
        event,
        submitted_at=envelope.occurred_at,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.event_id,
    )
    await repository.notify_workers(conn)


async def on_triggered(conn: asyncpg.Connection, envelope: Envelope, event: AnalysisTriggered) -> None:
    queued = await repository.trigger_job(
        conn,
        event,
        triggered_at=envelope.occurred_at,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.event_id,
    )
    if not queued:
        log.info("analysis.trigger_ignored_while_running", queue_id=event.queue_id, trigger=event.trigger)
    await repository.notify_workers(conn)


async def on_cancelled(conn: asyncpg.Connection, envelope: Envelope, event: AnalysisCancelled) -> None:
    await repository.cancel_job(conn, event.queue_id)


async def on_updated(conn: asyncpg.Connection, envelope: Envelope, event: AnalysisUpdated) -> None:
    await repository.update_job(conn, event)  # the same change applied twice changes nothing more


HANDLERS: Handlers = {
    AnalysisRequested: on_requested,
    AnalysisTriggered: on_triggered,
    AnalysisCancelled: on_cancelled,
    AnalysisUpdated: on_updated,
}
