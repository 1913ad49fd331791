"""Fair limits: a token bucket per caller and action (creating analyses, re-runs, profile requests),
kept in PostgreSQL (gateway.take_token) so every gateway replica takes from the same bucket.

A signed-in user's bucket is keyed by the user, an anonymous caller's by the client address (behind a
reverse proxy that is the proxy's: let the proxy limit per client, or run the gateway where it sees
clients). Administrators are not limited. A refusal is 429 RATE_LIMITED with Retry-After.
"""

from __future__ import annotations

import math
import random
from typing import Literal

import structlog
from aiohttp import web

from services.gateway import keys
from services.gateway.errors import ApiError
from services.gateway.identity import caller
from services.gateway.settings import RateLimit

log = structlog.get_logger(__name__)

Action = Literal["analyses", "reruns", "profiles"]
# Roughly one take in this many also deletes buckets that have been full for a day (same as no row).
PURGE_ONE_IN = 1000
_PURGE = "DELETE FROM gateway.rate_buckets WHERE refilled_at < clock_timestamp() - interval '1 day'"


def rate_limited(action: Action, retry_after_s: float, limit: RateLimit) -> ApiError:
    wait = max(1, math.ceil(retry_after_s))
    return ApiError(
        429,
        "RATE_LIMITED",
        f"Too many {action} requests: at most {limit.capacity} per {limit.period_s} s.",
        troubleshooting=f"Retry after {wait} s (Retry-After).",
        headers={"Retry-After": str(wait)},
    )


async def take(request: web.Request, action: Action) -> None:
    """One token of the caller's bucket for `action`, or 429 (nothing is taken then)."""
    limit: RateLimit | None = getattr(request.app[keys.SETTINGS], f"rate_limit_{action}")
    who = await caller(request)
    if limit is None or who.admin:
        return
    principal = f"user:{who.user_id}" if who.user_id is not None else f"addr:{request.remote}"
    pool = request.app[keys.POOL]  # a database that is down is the error middleware's 503, as anywhere
    wait = await pool.fetchval(
        "SELECT gateway.take_token($1, $2, $3)", f"{action}:{principal}", limit.capacity, limit.per_second
    )
    if random.randrange(PURGE_ONE_IN) == 0:
        await pool.execute(_PURGE)
    if wait > 0:
        log.info("gateway.rate_limited", action=action, user=who.user_id is not None, retry_after_s=wait)
        raise rate_limited(action, wait, limit)
