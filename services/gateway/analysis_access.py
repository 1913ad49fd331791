"""Who may act on an analysis job, and how a decision on it is appended: the job folded from its stream
for its owner (identity.may_see; anyone else is told 404 QUEUE_NOT_FOUND, as for no job), the per-user
cap on analyses at once, and the fold-decide-append loop every command of analyses.py goes through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from aiohttp import web

from libs.events import NewEvent, WrongExpectedVersion
from libs.events.catalog import Event, analysis_stream
from libs.events.store import retry_on_conflict
from services.gateway import keys
from services.gateway.domain.analysis_jobs import AnalysisJobState, fold
from services.gateway.errors import ApiError, service_unavailable
from services.gateway.idempotency import atomic
from services.gateway.identity import Caller, caller, may_see
from services.gateway.repository import analyses as jobs

E = TypeVar("E", bound=Event)


def queue_not_found() -> ApiError:
    return ApiError(
        404,
        "QUEUE_NOT_FOUND",
        "Queue entry not found",
        troubleshooting="Verify the queue_id returned when the analysis was queued, and sign in as its owner.",
    )


async def load_job(conn: asyncpg.Connection, request: web.Request, queue_id: str) -> AnalysisJobState:
    """The job folded from its stream, if the caller may see it (else, as for no job, 404)."""
    who = await caller(request)  # a token sent is judged first, whether or not the job exists
    state = fold(await request.app[keys.STORE].read_stream(conn, analysis_stream(queue_id)))
    if not state.exists or not may_see(who, state.owner_id):
        raise queue_not_found()
    return state


async def visible_session(conn: asyncpg.Connection, request: web.Request, queue_id: str) -> jobs.Session:
    """The job as the gateway recorded its creation, if the caller may see it (else 404): for reads
    that answer from the read model, without folding the stream."""
    who = await caller(request)
    session = await jobs.session_of_queue(conn, queue_id)
    if session is None or not may_see(who, session.owner_id):
        raise queue_not_found()
    return session


def running_cap_reached(limit: int) -> ApiError:
    return ApiError(
        429,
        "TOO_MANY_RUNNING",
        f"You have {limit} analyses queued or running, the most allowed at once.",
        troubleshooting="Wait for one to finish, or cancel one, then retry.",
        headers={"Retry-After": "60"},
    )


async def check_running_cap(conn: asyncpg.Connection, request: web.Request, who: Caller) -> None:
    """A user's analyses queued or running, against MAX_RUNNING_ANALYSES_PER_USER. Called inside the
    transaction that appends: the lock serialises one user's concurrent requests on every replica."""
    limit = request.app[keys.SETTINGS].max_running_analyses_per_user
    if who.user_id is None:
        return  # anonymous callers are bounded by their address's rate limit; administrators by nothing
    if await jobs.running_analyses_of(conn, who.user_id) >= limit:
        raise running_cap_reached(limit)


async def decide_and_append(
    conn: asyncpg.Connection,
    request: web.Request,
    queue_id: str,
    decide: Callable[[AnalysisJobState, str], E | None],
    guard: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> tuple[AnalysisJobState, E | None]:
    """Fold, decide, append with the folded version (nothing when the decision is None); on a
    concurrent append decide again. A guard runs in the appending transaction, before the append: a
    check that must still hold when it commits."""
    store = request.app[keys.STORE]

    async def attempt() -> tuple[AnalysisJobState, E | None]:
        state = await load_job(conn, request, queue_id)
        event = decide(state, queue_id)
        if event is None:
            return state, None
        async with conn.transaction() if guard is not None else atomic(conn):
            if guard is not None:
                await guard(conn)
            await store.append(
                conn, analysis_stream(queue_id), [NewEvent(event=event)], expected_version=state.version
            )
        return state, event

    try:
        return await retry_on_conflict(attempt)
    except WrongExpectedVersion:
        raise service_unavailable("The analysis stream is too busy") from None


async def append_decided(
    conn: asyncpg.Connection,
    request: web.Request,
    queue_id: str,
    decide: Callable[[AnalysisJobState, str], E],
    guard: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> tuple[AnalysisJobState, E]:
    """As decide_and_append, for a decision that always appends (or refuses)."""
    state, event = await decide_and_append(conn, request, queue_id, decide, guard)
    assert event is not None
    return state, event
