"""Fair limits: a token bucket per caller and action (creating analyses, re-runs, profile requests),
kept in PostgreSQL (gateway.take_token) so every gateway replica takes from the same bucket.

A signed-in user's bucket is keyed by the user, an anonymous caller's by the client address (behind a
reverse proxy that is the proxy's: let the proxy limit per client, or run the gateway where it sees
clients; X-Forwarded-For is not trusted, anyone can send it). Administrators are not limited. A refusal
is 429 RATE_LIMITED with Retry-After.
"""

from __future__ import annotations

import math
import random
from typing import Literal

import asyncpg
import structlog
from aiohttp import web

from services.gateway import keys
from services.gateway.errors import ApiError
from services.gateway.identity import caller
from services.gateway.settings import RateLimit

log = structlog.get_logger(__name__)

Action = Literal["analyses", "reruns", "profiles", "watch_refreshes"]
_NAMED = {"analyses": "new analyses", "reruns": "re-runs", "profiles": "profile requests",
          "watch_refreshes": "watchlist refreshes"}  # fmt: skip
# Roughly one take in this many also deletes buckets that have been full for a day (same as no row).
PURGE_ONE_IN = 1000
# Bounded, and SKIP LOCKED: a purge never waits on a bucket someone is taking from (nor deadlocks with
# another purge), so it is safe inside a request's transaction; what it leaves, the next one takes.
_PURGE = """DELETE FROM gateway.rate_buckets WHERE bucket IN (
                SELECT bucket FROM gateway.rate_buckets
                WHERE refilled_at < clock_timestamp() - interval '1 day'
                ORDER BY refilled_at LIMIT 1000 FOR UPDATE SKIP LOCKED)"""
_TAKE = "SELECT gateway.take_token($1, $2, $3)"


def rate_limited(action: Action, retry_after_s: float, limit: RateLimit) -> ApiError:
    wait = max(1, math.ceil(retry_after_s))
    return ApiError(
        429,
        "RATE_LIMITED",
        f"Too many {_NAMED[action]}: at most {limit.capacity} per {limit.period_s} s.",
        troubleshooting=f"Retry after {wait} s (Retry-After).",
        headers={"Retry-After": str(wait)},
    )


async def take(request: web.Request, action: Action, conn: asyncpg.Connection | None = None) -> None:
    """One token of the caller's bucket for `action`, or 429 (nothing is taken then).

    conn: the request's own connection, when it has one (no request holds two). Inside answer_once's
    create the take is part of its transaction: a replay of an Idempotency-Key never gets that far, so
    it costs no token, and a request that fails afterwards gives its token back."""
    limit: RateLimit | None = getattr(request.app[keys.SETTINGS], f"rate_limit_{action}")
    who = await caller(request)
    if limit is None or who.admin:
        return
    principal = f"user:{who.user_id}" if who.user_id is not None else f"addr:{request.remote}"
    bucket = f"{action}:{principal}"
    # A database that is down is the error middleware's 503, as anywhere.
    if conn is None:
        async with request.app[keys.POOL].acquire() as own:
            wait = await _take(own, bucket, limit)
    else:
        wait = await _take(conn, bucket, limit)
    if wait > 0:
        log.info("gateway.rate_limited", action=action, user=who.user_id is not None, retry_after_s=wait)
        raise rate_limited(action, wait, limit)


async def _take(conn: asyncpg.Connection, bucket: str, limit: RateLimit) -> float:
    wait: float = await conn.fetchval(_TAKE, bucket, float(limit.capacity), limit.per_second)
    if random.randrange(PURGE_ONE_IN) == 0:
        await conn.execute(_PURGE)
    return wait
