"""profile-ingest: the seeds' QueueProcessor. Each ProfileRequested becomes a fetched, scored and
categorised profile.

A request is claimed with a session advisory lock, so two deliveries of it (a redelivery, or the
original LOW message and its HIGH promotion) are never worked on at once, and a worker killed mid-fetch
releases it with its database session; a delivery that finds it held comes back after a delay, and
finds it done or free. Each step commits its state and its events together: the fetched profile's
ProfileIngested with the ProfileCategorised and ReelsCategorised of its classification.
The competitor picker's SimilarAccountsRequested is one provider call (similar.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog

from libs.analysis import Classifier
from libs.events import Deferred, Envelope, EventStore, NewEvent, WrongExpectedVersion
from libs.events.catalog import (
    Event,
    ProfileRequested,
    ProfileRequestPromoted,
    SimilarAccountsRequested,
    profile_stream,
)
from libs.instagram import InstagramProvider
from services.profile_ingest import domain, repository, similar
from services.profile_ingest.domain import Request
from services.profile_ingest.fetch import fetch_profile
from services.profile_ingest.lanes import HighFirst
from services.profile_ingest.settings import IngestSettings

log = structlog.get_logger(__name__)

CONSUMER = "profile-ingest"


@dataclass(frozen=True)
class Ingestion:
    """What the handler works with, given at wiring (libs.events.consumer.bind)."""

    store: EventStore
    provider: InstagramProvider
    settings: IngestSettings
    classifier: Classifier
    gate: HighFirst


class RetryLater(Exception):
    """A transient failure: the consumer re-delivers the request after its backoff delay."""


async def on_requested(ingestion: Ingestion, pool: asyncpg.Pool, envelope: Envelope, event: Request) -> None:
    if event.priority == "LOW":
        await _claim_and_ingest(ingestion, pool, envelope, event)
        return
    with ingestion.gate.working():  # no new LOW fetch starts meanwhile (services/profile_ingest/lanes.py)
        await _claim_and_ingest(ingestion, pool, envelope, event)


async def _claim_and_ingest(
    ingestion: Ingestion, pool: asyncpg.Pool, envelope: Envelope, event: Request
) -> None:
    async with pool.acquire() as conn:
        if not await repository.try_lock_request(conn, event.request_id):
            # Another delivery of it is being worked on. That worker may still lose its message (its
            # channel died in a broker reconnect): this copy comes back later instead of being dropped.
            raise Deferred(f"request {event.request_id} is being ingested elsewhere")
        try:
            await _ingest(ingestion, conn, envelope, event)
        finally:
            if not conn.is_closed():
                await repository.unlock_request(conn, event.request_id)


async def on_similar_requested(
    ingestion: Ingestion, pool: asyncpg.Pool, envelope: Envelope, event: SimilarAccountsRequested
) -> None:
    """The competitor picker's on-demand similar accounts (similar.py), under the same HIGH gate."""
    if await similar.answered(ingestion.store, pool, envelope):
        log.info("similar.already_answered", username=event.username, request_id=event.request_id)
        return
    if event.priority == "LOW":
        answer = await similar.fetch(ingestion.provider, event)
    else:
        with ingestion.gate.working():
            answer = await similar.fetch(ingestion.provider, event)
    await similar.record(ingestion.store, pool, envelope, answer)


HANDLERS: Mapping[type[Event], Callable[..., Awaitable[None]]] = {
    ProfileRequested: on_requested,
    ProfileRequestPromoted: on_requested,
    SimilarAccountsRequested: on_similar_requested,
}


async def _ingest(ingestion: Ingestion, conn: asyncpg.Connection, envelope: Envelope, event: Request) -> None:
    request_id = event.request_id
    progress = await repository.request_progress(conn, request_id)
    if progress is not None and not domain.still_to_do(progress.status):
        log.info("ingest.already_done", request_id=request_id, status=progress.status)
        return
    attempt = domain.next_attempt(progress.attempts if progress else 0)
    started_at = datetime.now(UTC)

    async def mark_started(c: asyncpg.Connection) -> None:
        await repository.mark_started(
            c,
            request_id=request_id,
            username=event.username,
            priority=event.priority,
            attempt=attempt,
            requested_at=envelope.occurred_at,
            started_at=started_at,
        )

    await _commit(ingestion.store, conn, envelope, mark_started, [domain.started(event, attempt)])
    clock = time.perf_counter()
    try:
        fetched = await fetch_profile(ingestion.provider, ingestion.settings, event.username)
    except Exception as exc:
        await _fail(ingestion, conn, envelope, event, attempt, exc)
        return
    duration_ms = int((time.perf_counter() - clock) * 1000)
    ingested = domain.ingested(
        event, attempt, duration_ms, fetched.profile, fetched.reels, fetched.similar, fetched.posts
    )
    # The language model's classifier falls back to the local one rather than fail the profile.
    categorisation = await ingestion.classifier.categorise(*domain.classifier_input(ingested))

    async def store_profile(c: asyncpg.Connection) -> None:
        now = datetime.now(UTC)
        await repository.store_profile(c, event.username, ingested.profile, ingested.reels, now)
        await repository.mark_completed(c, request_id, now)

    events: list[domain.IngestEvent] = [ingested, *domain.categorised(ingested, categorisation)]
    await _commit(ingestion.store, conn, envelope, store_profile, events)
    log.info(
        "ingest.completed",
        username=event.username,
        request_id=request_id,
        attempts=attempt,
        reels=len(ingested.reels),
        posts=len(ingested.posts),
        primary_category=categorisation.profile.primary_category,
        classifier=categorisation.classifier,
        duration_ms=ingested.duration_ms,
    )


async def _fail(
    ingestion: Ingestion, conn: asyncpg.Connection, envelope: Envelope, event: Request, attempt: int,
    exc: Exception,
) -> None:  # fmt: skip
    failed = domain.failed_attempt(event, attempt, exc, ingestion.settings.ingest_max_attempts)
    if failed.unexpected:
        log.exception("ingest.unexpected_error", request_id=event.request_id)
    else:
        log.warning(
            "ingest.attempt_failed",
            request_id=event.request_id,
            attempt=attempt,
            error_code=failed.failure.error_code,
            reason=failed.failure.reason,
            will_retry=failed.will_retry,
        )

    async def record(c: asyncpg.Connection) -> None:
        await repository.record_failure(c, event.request_id, failed.request_status, failed.failure.reason)

    await _commit(ingestion.store, conn, envelope, record, [failed.event])
    if failed.will_retry:
        raise RetryLater(failed.failure.reason)


async def _commit(
    store: EventStore, conn: asyncpg.Connection, cause: Envelope,
    writes: Callable[[asyncpg.Connection], Awaitable[None]], events: list[domain.IngestEvent],
) -> None:  # fmt: skip
    """The step's state and its events in one transaction, on the profile's stream."""
    first = events[0]
    try:
        await store.commit(
            conn,
            profile_stream(first.username),
            [NewEvent(event=event) for event in events],
            writes=writes,
            correlation_id=cause.correlation_id,
            causation_id=cause.event_id,
        )
    except WrongExpectedVersion:
        raise RetryLater(
            f"profile-{first.username} kept changing while recording {first.event_type}"
        ) from None
