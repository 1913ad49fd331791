"""Profile endpoints: request processing (decided on the event stream) and its status (read model)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web

from libs.events import NewEvent, WrongExpectedVersion
from libs.events.catalog import profile_stream
from libs.events.store import retry_on_conflict
from libs.profiles import NOT_FOLDED, ProfileState, fold
from services.gateway import keys, limits, repository
from services.gateway.domain.profile_requests import decide, estimated_time
from services.gateway.errors import ApiError, service_unavailable
from services.gateway.idempotency import answer_once, atomic
from services.gateway.identity import caller
from services.gateway.replica import reads
from services.gateway.responses import envelope, iso, jsonable, ok, ok_body
from services.gateway.status_cache import STATUS_CACHE, Entry
from services.gateway.validation import normalise_username, parse_source, query_int


async def request_profile(request: web.Request) -> web.Response:
    username = normalise_username(request.match_info["username"])
    source = parse_source(request.query.get("source"))
    store = request.app[keys.STORE]
    stream = profile_stream(username)

    async def decide_and_append(conn: asyncpg.Connection) -> web.Response:
        # On the request's connection, in the idempotent transaction: a replay costs no token.
        await limits.take(request, "profiles", conn)

        async def attempt() -> web.Response:
            now = datetime.now(UTC)
            state = fold(await store.read_stream(conn, stream, without=NOT_FOLDED))
            decision = decide(
                state,
                username=username,
                source=source,
                priority="HIGH",
                now=now,
                fetched_at=await repository.profile_fetched_at(conn, username),
                freshness=timedelta(hours=request.app[keys.SETTINGS].profile_freshness_hours),
            )
            if decision.events:
                # Someone else deciding on this profile meanwhile makes the append refuse: decided again.
                async with atomic(conn):
                    await store.append(
                        conn,
                        stream,
                        [NewEvent(event=e, occurred_at=now) for e in decision.events],
                        expected_version=state.version,
                    )
            return ok(await _request_answer(conn, username, state, decision, now))

        try:
            return await retry_on_conflict(attempt)
        except WrongExpectedVersion:
            raise service_unavailable("The profile stream is too busy") from None

    await caller(request)  # verified before a connection is held: a JWKS fetch may take seconds
    return await answer_once(request, decide_and_append)


async def _request_answer(
    conn: asyncpg.Connection, username: str, state: ProfileState, decision: Any, now: datetime
) -> dict[str, Any]:
    if decision.outcome in ("recently_completed", "already_processed"):
        recent = decision.outcome == "recently_completed"
        return {
            "queued": False,
            "message": (
                f"Profile {username} was recently processed and is now available"
                if recent
                else f"Profile {username} is already fully processed"
            ),
            "estimated_time": "complete",
            "profile_type": "primary",
            "status": "exists",
            "created_at": iso(state.first_completed_at or decision.fetched_at),
            "last_fetched_at": iso(decision.fetched_at),
            "skip_reason": decision.outcome,
        }
    requested_at = now if decision.outcome == "new" else state.requested_at
    assert requested_at is not None and decision.request_id is not None
    position = await repository.queue_position(conn, decision.priority, requested_at, decision.request_id)
    if decision.outcome == "new":
        return {
            "queued": True,
            "message": f"Profile {username} added to high priority processing queue",
            "estimated_time": estimated_time(position),
            "profile_type": "new",
            "status": "pending",
            "priority": decision.priority,
            "request_id": decision.request_id,
            "queue_position": position,
            "next_check_recommended": "30 seconds",
        }
    return {
        "queued": True,
        "message": f"Profile {username} is already in queue (status: {state.status.upper()})",
        "estimated_time": estimated_time(position),
        "profile_type": "queued",
        "status": state.status,
        "priority": decision.priority,
        "queue_position": position,
        "request_id": decision.request_id,
        "skip_reason": "already_in_queue",
    }


async def profile_status(request: web.Request) -> web.Response:
    username = normalise_username(request.match_info["username"])
    pool = request.app[keys.POOL]
    cache = request.app[STATUS_CACHE]
    entry = await cache.current("profile", username) if cache.enabled else None
    if entry is not None and entry.body is not None:
        return ok_body(entry.body)
    kept: int | None = None  # the stream's version, when the answer may be kept
    async with pool.acquire() as conn:
        row = await repository.latest_profile_request(conn, username)
        if row is not None:
            status = row["status"].lower()
            fields = {
                "request_id": row["request_id"],
                "priority": row["priority"],
                "status": status,
                "attempts": row["attempts"],
                "error_message": row["error_message"],
                "requested_at": row["timestamp"],
                "started_at": row["started_at"],
                "completed_at": row["completed_at"],
            }
            # A pending request's position moves with other profiles' requests: read per request.
            if status != "pending":
                kept = row["projected_version"]
        else:
            # The projection lags the store by milliseconds: a request just accepted is still visible.
            state = fold(
                await request.app[keys.STORE].read_stream(conn, profile_stream(username), without=NOT_FOLDED)
            )
            fetched_at = (
                await repository.profile_fetched_at(conn, username) if state.status == "none" else None
            )
            if state.status == "none" and fetched_at is None:
                raise ApiError(404, "PROFILE_NOT_FOUND", f"Profile {username} was never requested.")
            fields = {
                "request_id": state.request_id,
                "priority": state.priority,
                "status": state.status,
                "attempts": state.attempts,
                "error_message": state.error_message,
                "requested_at": state.requested_at,
                "started_at": state.started_at,
                "completed_at": state.completed_at,
            }
            if state.status == "none":  # fetched without a request of its own (by an analysis)
                fields.update(status="completed", attempts=0, completed_at=fetched_at)
        position = None
        if fields["status"] == "pending":
            position = await repository.queue_position(
                conn, fields["priority"], fields["requested_at"], fields["request_id"]
            )
    body = envelope(
        {
            "username": username,
            "status": fields["status"],
            "completed": fields["status"] == "completed",
            "priority": fields["priority"],
            "request_id": fields["request_id"],
            "queue_position": position,
            "attempts": fields["attempts"],
            "error_message": fields["error_message"],
            "requested_at": iso(fields["requested_at"]),
            "started_at": iso(fields["started_at"]),
            "completed_at": iso(fields["completed_at"]),
        }
    )
    if kept is not None:
        cache.keep("profile", username, Entry(profile_stream(username), kept, body=body))
    return ok_body(body)


async def _require_profile(conn: asyncpg.Connection, username: str) -> asyncpg.Record:
    row = await repository.primary_profile(conn, username)
    if row is None:
        raise ApiError(
            404,
            "PROFILE_NOT_FOUND",
            f"Profile {username} has not been fetched yet.",
            troubleshooting=f"Request it with POST /api/profile/{username}/request.",
        )
    return row


async def get_profile(request: web.Request) -> web.Response:
    username = normalise_username(request.match_info["username"])
    async with reads(request).acquire() as conn:
        return ok(jsonable(await _require_profile(conn, username)))


async def get_reels(request: web.Request) -> web.Response:
    username = normalise_username(request.match_info["username"])
    sort_by = request.query.get("sort_by", "popular")
    if sort_by not in repository.REEL_ORDERS:
        raise ApiError(
            400, "INVALID_PARAMETER", f"sort_by must be one of {', '.join(repository.REEL_ORDERS)}."
        )
    limit = query_int(request, "limit", 24, 1, 100)
    offset = query_int(request, "offset", 0, 0, 100_000)
    async with reads(request).acquire() as conn:
        await _require_profile(conn, username)
        rows = await repository.profile_reels(conn, username, sort_by, limit, offset)
        total = rows[0]["total"] if rows else await repository.profile_reel_count(conn, username)
    reels = [{k: v for k, v in jsonable(r).items() if k != "total"} for r in rows]
    return ok(
        {
            "username": username,
            "reels": reels,
            "total": total,
            "limit": limit,
            "offset": offset,
            "sort_by": sort_by,
            "has_more": offset + len(reels) < total,
        }
    )


async def get_similar(request: web.Request) -> web.Response:
    username = normalise_username(request.match_info["username"])
    limit = query_int(request, "limit", 20, 1, 100)
    async with reads(request).acquire() as conn:
        await _require_profile(conn, username)
        rows = await repository.similar_profiles(conn, username, limit)
    return ok({"username": username, "similar_profiles": [jsonable(r) for r in rows], "total": len(rows)})
