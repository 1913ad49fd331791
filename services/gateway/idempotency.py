"""Idempotency-Key (Stripe's convention) on the POST endpoints that create something.

A retry with the same key and the same request gets the first answer again (`Idempotent-Replayed:
true`); the same key with another request is 422 IDEMPOTENCY_KEY_REUSED. The first answer is stored in
the transaction that appended its events, so an answer lost on the way back never means a second run.
Only successes are kept (a refused request rolls its key back and may be retried as it is); keys last
24 hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from aiohttp import web

from services.gateway import keys
from services.gateway.errors import ApiError

log = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
KEPT = "24 hours"

Create = Callable[[asyncpg.Connection], Awaitable[web.Response]]

_REPLAY = f"""SELECT fingerprint, status, body, headers FROM gateway.idempotency_keys
              WHERE scope = $1 AND key = $2 AND created_at > now() - interval '{KEPT}'"""
# Claimed first thing in the transaction, so a concurrent request with the same key waits on the row
# until this one commits (then replays its answer) or rolls back (then goes ahead itself). An expired
# key is taken over; a live one makes this return nothing.
_CLAIM = f"""INSERT INTO gateway.idempotency_keys (scope, key, fingerprint, status, body)
             VALUES ($1, $2, $3, 0, '')
             ON CONFLICT (scope, key) DO UPDATE
                 SET fingerprint = $3, status = 0, body = '', headers = '{{}}', created_at = now()
                 WHERE idempotency_keys.created_at <= now() - interval '{KEPT}'
             RETURNING true"""
_ANSWER = """UPDATE gateway.idempotency_keys SET status = $3, body = $4, headers = $5
             WHERE scope = $1 AND key = $2"""
_UNSTORED_HEADERS = {"content-type", "content-length"}


def atomic(conn: asyncpg.Connection) -> contextlib.AbstractAsyncContextManager[object]:
    """A savepoint inside answer_once's transaction, so a version conflict undoes only that append and
    the decision can be taken again; outside one nothing (a single INSERT is atomic on its own)."""
    return conn.transaction() if conn.is_in_transaction() else contextlib.nullcontext()


class _Taken(Exception):
    """A request with the same key committed first: ours is rolled back and its answer replayed."""


async def answer_once(request: web.Request, create: Create) -> web.Response:
    """`create` on a pooled connection; with an Idempotency-Key, in a transaction that keeps its answer."""
    raw = request.headers.get(HEADER)
    async with request.app[keys.POOL].acquire() as conn:
        if raw is None:
            return await create(conn)
        if not KEY_RE.fullmatch(raw):
            raise ApiError(
                400, "INVALID_IDEMPOTENCY_KEY", f"{HEADER} must be 1-255 printable ASCII characters."
            )
        scope = f"{request.method} {request.match_info.route.resource.canonical}"  # type: ignore[union-attr]
        fingerprint = hashlib.sha256(
            b"\0".join((request.method.encode(), request.path_qs.encode(), await request.read()))
        ).digest()
        replay = await _replay(conn, scope, raw, fingerprint)
        if replay is not None:
            return replay
        try:
            async with conn.transaction():
                if not await conn.fetchval(_CLAIM, scope, raw, fingerprint):
                    raise _Taken
                response = await create(conn)  # an ApiError rolls the key back with everything else
                assert isinstance(response.body, bytes)
                # str(): aiohttp's header names are a str subclass the JSON encoder refuses as keys.
                headers = {
                    str(k): v for k, v in response.headers.items() if k.lower() not in _UNSTORED_HEADERS
                }
                await conn.execute(_ANSWER, scope, raw, response.status, response.body, headers)
        except _Taken:
            replay = await _replay(conn, scope, raw, fingerprint)
            assert replay is not None, "a live key row disappeared"
            return replay
        return response


async def _replay(conn: asyncpg.Connection, scope: str, key: str, fingerprint: bytes) -> web.Response | None:
    row = await conn.fetchrow(_REPLAY, scope, key)
    if row is None:
        return None
    if row["fingerprint"] != fingerprint:
        raise ApiError(
            422,
            "IDEMPOTENCY_KEY_REUSED",
            f"This {HEADER} was used for a different request.",
            troubleshooting="Use a new key for a new request; repeat a request with the key it was sent with.",
        )
    return web.Response(
        body=row["body"],
        status=row["status"],
        content_type="application/json",
        headers={**row["headers"], "Idempotent-Replayed": "true"},
    )


async def purge_expired(pool: asyncpg.Pool, interval_s: float = 3600.0) -> None:
    """Keys older than they are kept are taken over anyway; this keeps the table from growing."""
    while True:
        try:
            await pool.execute(
                f"DELETE FROM gateway.idempotency_keys WHERE created_at <= now() - interval '{KEPT}'"
            )
        except Exception as exc:  # a database outage shows on /readyz; try again next time
            log.warning("idempotency.purge_failed", error=repr(exc))
        await asyncio.sleep(interval_s)
