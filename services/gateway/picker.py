"""The competitor picker: suggestions for any username (similar-fast) and the check of a typed-in
competitor (add-competitor).

The gateway never calls the provider. What the read model cannot answer yet is asked for with an
event at HIGH priority (SimilarAccountsRequested on similar-<username>, or a ProfileRequested on
profile-<username>, decided as POST /api/profile/{username}/request decides it), profile-ingest
fetches it, and the answer comes from the read model once projected (projection_wait.py). One fetch
per username however many ask: a pending one is waited for. Past PICKER_WAIT_S the answer is 202 with
Retry-After; asking again then waits for the same fetch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web
from prometheus_client import Counter

from libs.events import NewEvent, WrongExpectedVersion
from libs.events.catalog import profile_stream, similar_stream
from libs.events.store import retry_on_conflict
from libs.profiles import NOT_FOLDED, fold
from services.gateway import keys, limits, repository
from services.gateway.domain import picker
from services.gateway.domain.profile_requests import decide
from services.gateway.errors import ApiError, service_unavailable
from services.gateway.identity import caller
from services.gateway.projection_wait import WAITS
from services.gateway.repository import picker as picker_db
from services.gateway.responses import iso, ok
from services.gateway.validation import normalise_username, query_bool, query_int

PICKER_ANSWERS = Counter(
    "viralspot_picker_answers_total",
    "Competitor picker answers, by endpoint and where they came from (cached: no fetch; fetched: "
    "after waiting for one; pending: 202, the fetch still running; failed: the account is unusable)",
    ["endpoint", "source"],
)
RETRY_AFTER_S = 2
SOURCE = "competitor_picker"  # ProfileRequested.source of a typed-in competitor's fetch


async def similar_fast(request: web.Request) -> web.Response:
    username = normalise_username(request.match_info["username"])
    limit = query_int(request, "limit", 20, 1, 100)
    force_refresh = query_bool(request, "force_refresh")
    await caller(request)  # a token sent must be valid; the rate limit's bucket is the caller's
    settings = request.app[keys.SETTINGS]
    pool = request.app[keys.POOL]
    cache_for = timedelta(hours=settings.picker_cache_hours)
    if not force_refresh:
        async with pool.acquire() as conn:
            row = await picker_db.similar_fetch(conn, username)
        if row is not None and row["fetched_at"] and datetime.now(UTC) - row["fetched_at"] < cache_for:
            return await _suggestions(request, username, row, limit, "cached")
    stream = similar_stream(username)

    async def attempt(conn: asyncpg.Connection) -> picker.SimilarDecision:
        now = datetime.now(UTC)
        state = picker.fold_similar(
            await request.app[keys.STORE].read_stream(conn, stream, without=picker.NOT_FOLDED)
        )
        decision = picker.decide_similar(
            state, username=username, now=now, cache_for=cache_for, force_refresh=force_refresh
        )
        if decision.event is not None:
            async with conn.transaction():  # a refused token or a lost race appends nothing
                await limits.take(request, "profiles", conn)
                await request.app[keys.STORE].append(
                    conn, stream, [NewEvent(event=decision.event, occurred_at=now)],
                    expected_version=state.version,
                )  # fmt: skip
        return decision

    decision = await _decided(request, attempt)

    async def answered() -> asyncpg.Record | None:
        async with pool.acquire() as conn:
            found = await picker_db.similar_fetch(conn, username)
        done = found is not None and found["request_id"] == decision.request_id
        return found if done and found["status"] != "PENDING" else None

    row = await request.app[WAITS].until(stream, answered, settings.picker_wait_s)
    if row is None:
        return _pending("similar-fast", username, decision.request_id)
    if row["status"] == "FAILED":
        raise _unusable("similar-fast", username, row["error_code"], row["error_message"])
    source = "cached" if decision.outcome == "cached" else "fetched"
    return await _suggestions(request, username, row, limit, source)


async def _suggestions(
    request: web.Request, username: str, row: asyncpg.Record, limit: int, source: str
) -> web.Response:
    async with request.app[keys.POOL].acquire() as conn:
        rows = await picker_db.suggestions(conn, username, limit)
    PICKER_ANSWERS.labels("similar-fast", source).inc()
    profiles = [{**dict(r), "rank": rank} for rank, r in enumerate(rows, start=1)]
    return ok(
        {
            "username": username,
            "similar_profiles": profiles,
            "total": len(profiles),
            "fetched_at": iso(row["fetched_at"]),
            "cached": source == "cached",
        }
    )


async def add_competitor(request: web.Request) -> web.Response:
    primary = normalise_username(request.match_info["primary"])
    target = normalise_username(request.match_info["target"])
    if target == primary:
        raise ApiError(
            422, "COMPETITOR_IS_PRIMARY", f"{target} is the creator's own account, not a competitor."
        )
    await caller(request)  # anyone may check, as anyone may request a profile; a token sent must be valid
    settings = request.app[keys.SETTINGS]
    pool = request.app[keys.POOL]
    freshness = timedelta(hours=settings.profile_freshness_hours)
    async with pool.acquire() as conn:
        card = await picker_db.competitor_card(conn, target)
    if card is not None and datetime.now(UTC) - card["last_scraped_at"] < freshness:
        return _card(card, "cached")
    stream = profile_stream(target)

    async def attempt(conn: asyncpg.Connection) -> tuple[str | None, str]:
        """The profile request the answer waits for (None: the profile itself), and where the answer
        comes from (a fetch, or what is known already)."""
        now = datetime.now(UTC)
        state = fold(await request.app[keys.STORE].read_stream(conn, stream, without=NOT_FOLDED))
        if picker.known_gone(state, now):
            return state.request_id, "cached"
        decision = decide(
            state, username=target, source=SOURCE, priority="HIGH", now=now,
            fetched_at=await repository.profile_fetched_at(conn, target), freshness=freshness,
        )  # fmt: skip
        if decision.events:
            async with conn.transaction():
                if decision.outcome == "new":
                    await limits.take(request, "profiles", conn)
                await request.app[keys.STORE].append(
                    conn, stream, [NewEvent(event=e, occurred_at=now) for e in decision.events],
                    expected_version=state.version,
                )  # fmt: skip
        if decision.outcome in ("new", "already_in_queue"):
            return decision.request_id, "fetched"
        return None, "cached"

    request_id, source = await _decided(request, attempt)

    async def answered() -> tuple[asyncpg.Record | None, asyncpg.Record | None] | None:
        async with pool.acquire() as conn:
            queued = await picker_db.profile_request(conn, request_id) if request_id else None
            if queued is not None and queued["status"] == "FAILED":
                return queued, None
            if request_id is None or (queued is not None and queued["status"] == "COMPLETED"):
                found = await picker_db.competitor_card(conn, target)
                return (queued, found) if found is not None else None
        return None

    got = await request.app[WAITS].until(stream, answered, settings.picker_wait_s)
    if got is None:
        return _pending("add-competitor", target, request_id)
    queued, card = got
    if card is None:
        assert queued is not None
        raise _unusable("add-competitor", target, queued["error_code"], queued["error_message"])
    return _card(card, source)


def _card(card: asyncpg.Record, source: str) -> web.Response:
    if card["is_private"]:
        raise _unusable("add-competitor", card["username"], "ACCOUNT_PRIVATE", None)
    PICKER_ANSWERS.labels("add-competitor", source).inc()
    return ok({k: card[k] for k in ("username", "full_name", "profile_image_url", "followers", "is_private")})


async def _decided(request: web.Request, attempt: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    """The decision taken on a pooled connection (released before any wait), again on a lost race."""
    async with request.app[keys.POOL].acquire() as conn:
        try:
            return await retry_on_conflict(lambda: attempt(conn))
        except WrongExpectedVersion:
            raise service_unavailable("The profile's stream is too busy") from None


def _pending(endpoint: str, username: str, request_id: str | None) -> web.Response:
    PICKER_ANSWERS.labels(endpoint, "pending").inc()
    response = ok(
        {
            "username": username,
            "status": "pending",
            "request_id": request_id,
            "retry_after_s": RETRY_AFTER_S,
            "message": f"{username} is being fetched; ask again in {RETRY_AFTER_S} s for the answer.",
        },
        status=202,
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _unusable(endpoint: str, username: str, error_code: str | None, reason: str | None) -> ApiError:
    PICKER_ANSWERS.labels(endpoint, "failed").inc()
    if error_code == "ACCOUNT_NOT_FOUND":
        return ApiError(404, "ACCOUNT_NOT_FOUND", f"Instagram has no account named {username}.")
    if error_code == "ACCOUNT_PRIVATE":
        return ApiError(
            422,
            "ACCOUNT_PRIVATE",
            f"{username} is a private account: its reels cannot be analysed.",
            troubleshooting="Pick a public account.",
        )
    return ApiError(
        503,
        "PROVIDER_UNAVAILABLE",
        f"Instagram could not be asked about {username} right now ({(reason or 'no reason given')[:200]}).",
        troubleshooting="Retry after a few seconds; the next request fetches again.",
        headers={"Retry-After": "5"},
    )
