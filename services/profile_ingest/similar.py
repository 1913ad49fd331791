"""The competitor picker's similar accounts, fetched on demand (SimilarAccountsRequested, HIGH on the
profile work queue): one provider call, the same as an ingestion's, its answer appended to the
username's similar-<username> stream right after the request.

Idempotent by that stream: a request something was appended after (its answer, or a newer request
that replaced it) is not fetched again; of two deliveries working at once, the second's append finds
the stream moved on and is dropped. No retries here: a person is waiting, and asks again."""

from __future__ import annotations

import time

import asyncpg
import structlog
from prometheus_client import Counter

from libs.events import Envelope, EventStore, NewEvent, WrongExpectedVersion
from libs.events.catalog import SimilarAccountsFetched, SimilarAccountsFetchFailed, SimilarAccountsRequested
from libs.instagram import InstagramProvider
from libs.scoring.snapshots import similar_snapshot
from services.profile_ingest.domain import judge

log = structlog.get_logger(__name__)

SIMILAR_FETCHES = Counter(
    "viralspot_similar_fetches_total",
    "On-demand similar-account fetches for the competitor picker, by how they ended",
    ["outcome"],
)
MAX_ACCOUNTS = 200  # what the event holds; the provider gives about 80

SimilarAnswer = SimilarAccountsFetched | SimilarAccountsFetchFailed


async def answered(store: EventStore, pool: asyncpg.Pool, envelope: Envelope) -> bool:
    """Something was appended after the request: its answer, or a newer request replacing it."""
    async with pool.acquire() as conn:
        return await store.stream_version(conn, envelope.stream_id) > envelope.stream_version


async def record(store: EventStore, pool: asyncpg.Pool, envelope: Envelope, answer: SimilarAnswer) -> None:
    """The answer right after its request, or nothing when the stream moved on meanwhile."""
    async with pool.acquire() as conn:
        try:
            await store.append(
                conn,
                envelope.stream_id,
                [NewEvent(event=answer)],
                expected_version=envelope.stream_version,
                correlation_id=envelope.correlation_id,
                causation_id=envelope.event_id,
            )
        except WrongExpectedVersion:
            log.info("similar.answered_elsewhere", username=answer.username, request_id=answer.request_id)


async def fetch(provider: InstagramProvider, event: SimilarAccountsRequested) -> SimilarAnswer:
    started = time.perf_counter()
    try:
        accounts = await provider.get_similar_accounts(event.username)
    except Exception as exc:
        failure = judge(exc)
        if failure.error_code == "INTERNAL_ERROR":
            log.exception("similar.unexpected_error", username=event.username)
        else:
            log.warning("similar.fetch_failed", username=event.username, error_code=failure.error_code)
        SIMILAR_FETCHES.labels(failure.error_code.lower()).inc()
        return SimilarAccountsFetchFailed(
            username=event.username,
            request_id=event.request_id,
            reason=failure.reason[:2000],
            error_code=failure.error_code,
        )
    SIMILAR_FETCHES.labels("fetched").inc()
    duration_ms = int((time.perf_counter() - started) * 1000)
    log.info("similar.fetched", username=event.username, accounts=len(accounts), duration_ms=duration_ms)
    return SimilarAccountsFetched(
        username=event.username,
        request_id=event.request_id,
        duration_ms=duration_ms,
        accounts=similar_snapshot(accounts[:MAX_ACCOUNTS]),
    )
