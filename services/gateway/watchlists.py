"""Watchlists and the alert feed (issue 15). A signed-in user watches creators (GET/POST
/api/watchlist, DELETE /api/watchlist/{username}); the alerts service fetches them again on a schedule
and turns a reel crossing the watcher's min_outlier_score into an alert (GET /api/alerts). Limits:
MAX_WATCHES_PER_USER creators (409 beyond); POST /api/watchlist/refresh fetches them all again now, at
most RATE_LIMIT_WATCH_REFRESHES times (429 beyond)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from libs.events import NewEvent, WrongExpectedVersion
from libs.events.catalog import WatchStarted, WatchStopped, watchlist_stream
from libs.events.store import retry_on_conflict
from libs.refetch import request_refetch
from services.gateway import keys, limits
from services.gateway.boards import owner
from services.gateway.domain.subscriptions import Watch, Watchlist, fold_watchlist
from services.gateway.errors import ApiError, service_unavailable
from services.gateway.replica import reads
from services.gateway.repository import alerts as store
from services.gateway.responses import iso, ok
from services.gateway.validation import normalise_username, parse_body, query_int, username_field

MAX_LOOKBACK = timedelta(days=30)


class WatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=60)
    min_outlier_score: float = Field(default=3.0, ge=1.0, le=1000.0)
    # Also this many times the niche's median views (the reel's category, that month); null: unused.
    min_niche_score: float | None = Field(default=None, ge=1.0, le=1000.0)
    # Reels posted from then on are alerted; default WATCH_LOOKBACK_H before now, at most 30 days back.
    alert_from: datetime | None = None

    @field_validator("alert_from", mode="plain")
    @classmethod
    def _timestamp(cls, value: Any) -> datetime | None:
        """An ISO 8601 string with its offset (a JSON body has no datetime type; a number is refused)."""
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("alert_from must be an ISO 8601 date-time string")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("alert_from must be an ISO 8601 date-time string") from None
        if parsed.tzinfo is None:
            raise ValueError("alert_from needs its UTC offset (for example 2026-12-01T00:00:00Z)")
        return parsed

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return username_field(value)


async def _read(request: web.Request, conn: Any, user: str) -> Watchlist:
    return fold_watchlist(await request.app[keys.STORE].read_stream(conn, watchlist_stream(user)))


async def watch(request: web.Request) -> web.Response:
    user = await owner(request)
    body = await parse_body(request, WatchBody)
    limit = request.app[keys.SETTINGS].max_watches_per_user
    lookback = timedelta(hours=request.app[keys.SETTINGS].watch_lookback_h)
    now = datetime.now(UTC)

    async with request.app[keys.POOL].acquire() as conn:

        async def attempt() -> tuple[int, dict[str, Any]]:
            state = await _read(request, conn, user)
            held = state.watching.get(body.username)
            if body.alert_from is not None and not now - MAX_LOOKBACK <= body.alert_from <= now + timedelta(
                days=1
            ):
                raise ApiError(400, "INVALID_ALERT_FROM", "alert_from must lie within the last 30 days.")
            alert_from = body.alert_from or (held.alert_from if held else now - lookback)
            wanted = Watch(
                body.min_outlier_score, held.started_at if held else now, alert_from, body.min_niche_score
            )
            if held is not None and held == wanted:
                return 200, _watch(body.username, held, "unchanged")
            if held is None and len(state.watching) >= limit:
                raise ApiError(409, "WATCHLIST_LIMIT_REACHED", f"You watch {limit} creators, the most allowed.",
                               troubleshooting="Stop watching a creator you no longer follow, then retry.")  # fmt: skip
            event = WatchStarted(
                user_id=user, username=body.username, min_outlier_score=body.min_outlier_score,
                min_niche_score=body.min_niche_score, alert_from=alert_from,
            )  # fmt: skip
            [stored] = await request.app[keys.STORE].append(
                conn, watchlist_stream(user), [NewEvent(event=event)], expected_version=state.version
            )
            watch = replace(wanted, started_at=held.started_at if held else stored.occurred_at)
            return (200 if held else 201), _watch(body.username, watch, "updated" if held else "watching")

        try:
            status, data = await retry_on_conflict(attempt)
        except WrongExpectedVersion:
            raise service_unavailable("The watchlist stream is too busy") from None
    return ok(data, status=status)


def _watch(username: str, watch: Watch, status: str) -> dict[str, Any]:
    return {
        "username": username, "min_outlier_score": watch.min_outlier_score,
        "min_niche_score": watch.min_niche_score,
        "watching_since": iso(watch.started_at), "alert_from": iso(watch.alert_from), "status": status,
    }  # fmt: skip


async def unwatch(request: web.Request) -> web.Response:
    user = await owner(request)
    username = normalise_username(request.match_info["username"])
    async with request.app[keys.POOL].acquire() as conn:

        async def attempt() -> None:
            state = await _read(request, conn, user)
            if username not in state.watching:
                raise ApiError(404, "WATCH_NOT_FOUND", f"You do not watch {username}.")
            await request.app[keys.STORE].append(
                conn, watchlist_stream(user), [NewEvent(event=WatchStopped(user_id=user, username=username))],
                expected_version=state.version,
            )  # fmt: skip

        try:
            await retry_on_conflict(attempt)
        except WrongExpectedVersion:
            raise service_unavailable("The watchlist stream is too busy") from None
    return ok({"username": username, "status": "stopped"})


async def watchlist(request: web.Request) -> web.Response:
    """The creators watched, each with when it was last fetched (by anyone) from the read model."""
    user = await owner(request)
    async with request.app[keys.POOL].acquire() as conn:
        state = await _read(request, conn, user)
        fetched = await store.last_fetched(conn, list(state.watching))
    watching = [
        {**_watch(name, watch, "watching"), "last_fetched_at": iso(fetched.get(name))}
        for name, watch in state.watching.items()
    ]
    limits = {"watches": request.app[keys.SETTINGS].max_watches_per_user}
    return ok({"watching": watching, "limits": limits})


async def refresh(request: web.Request) -> web.Response:
    """Every watched creator requested again now, at MEDIUM priority like the scheduled refresh; those
    already queued or being fetched are skipped (that fetch serves). 202: the fetches are under way."""
    user = await owner(request)
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        await limits.take(request, "watch_refreshes", conn)
        state = await _read(request, conn, user)
        requested: list[str] = []
        skipped: list[str] = []
        for username in state.watching:
            fresh = await request_refetch(
                request.app[keys.STORE], conn, username, source="watchlist", priority="MEDIUM"
            )
            (requested if fresh else skipped).append(username)
    return ok({"requested": requested, "skipped": skipped}, status=202)


async def alerts(request: web.Request) -> web.Response:
    """The user's alerts, newest first; `before` (the previous page's next_before) pages back."""
    user = await owner(request)
    limit = query_int(request, "limit", 50, 1, 200)
    before = query_int(request, "before", 2**62, 1, 2**62)
    async with reads(request).acquire() as conn:
        rows = await store.alerts_of(conn, user, before, limit + 1)
    page = [alert_data(r) for r in rows[:limit]]
    more = len(rows) > limit
    return ok({"alerts": page, "next_before": rows[limit - 1]["position"] if more else None})


def alert_data(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["event_id"]), "username": row["username"], "content_id": row["content_id"],
        "shortcode": row["shortcode"], "url": row["url"], "view_count": row["view_count"],
        "outlier_score": row["outlier_score"], "threshold": row["threshold"], "median_views": row["median_views"],
        "category": row["category"], "niche_outlier_score": row["niche_outlier_score"],
        "min_niche_score": row["min_niche_score"],
        "date_posted": iso(row["date_posted"]), "description": row["description"],
        "detected_at": iso(row["detected_at"]),
    }  # fmt: skip
