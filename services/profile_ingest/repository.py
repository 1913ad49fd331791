"""profile-ingest's tables (schema `ingest`): the requests it took on with their attempts, the profiles
and reels it fetched; and the advisory lock that keeps two deliveries of one request apart."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson

from libs.events.catalog import ProfileSnapshot, ReelSnapshot

REQUEST_LOCK_CLASS = 4_201  # advisory-lock namespace of profile requests
MEDIA_LOCK_CLASS = 4_202  # advisory-lock namespace of media owners (kind, owner)


def request_lock_key(request_id: str) -> int:
    return zlib.crc32(request_id.encode()) & 0x7FFFFFFF


async def try_lock_request(conn: asyncpg.Connection, request_id: str) -> bool:
    """A session lock, so a worker killed mid-fetch releases it with its database session."""
    locked = await conn.fetchval(
        "SELECT pg_try_advisory_lock($1, $2)", REQUEST_LOCK_CLASS, request_lock_key(request_id)
    )
    return bool(locked)


async def unlock_request(conn: asyncpg.Connection, request_id: str) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1, $2)", REQUEST_LOCK_CLASS, request_lock_key(request_id))


@dataclass(frozen=True)
class RequestProgress:
    status: str
    attempts: int


async def request_progress(conn: asyncpg.Connection, request_id: str) -> RequestProgress | None:
    row = await conn.fetchrow(
        "SELECT status, attempts FROM ingest.requests WHERE request_id = $1", request_id
    )
    return RequestProgress(row["status"], row["attempts"]) if row is not None else None


async def mark_started(
    conn: asyncpg.Connection, *, request_id: str, username: str, priority: str, attempt: int,
    requested_at: datetime, started_at: datetime,
) -> None:  # fmt: skip
    await conn.execute(
        """INSERT INTO ingest.requests (request_id, username, priority, status, attempts,
                                        requested_at, started_at, updated_at)
           VALUES ($1, $2, $3, 'processing', $4, $5, $6, $6)
           ON CONFLICT (request_id) DO UPDATE SET status = 'processing', attempts = $4,
               started_at = coalesce(ingest.requests.started_at, $6), updated_at = $6""",
        request_id,
        username,
        priority,
        attempt,
        requested_at,
        started_at,
    )


async def store_profile(
    conn: asyncpg.Connection, username: str, profile: ProfileSnapshot, reels: list[ReelSnapshot], at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO ingest.profiles (username, profile, fetched_at) VALUES ($1, $2, $3)
           ON CONFLICT (username) DO UPDATE SET profile = $2, fetched_at = $3""",
        username,
        profile.model_dump(mode="json"),
        at,
    )
    await conn.executemany(
        """INSERT INTO ingest.reels (content_id, username, reel, fetched_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (content_id) DO UPDATE SET reel = $3, fetched_at = $4""",
        [(r.content_id, username, orjson.loads(r.model_dump_json()), at) for r in reels],
    )


async def mark_completed(conn: asyncpg.Connection, request_id: str, at: datetime) -> None:
    await conn.execute(
        """UPDATE ingest.requests SET status = 'completed', last_error = NULL, finished_at = $2,
                  updated_at = $2 WHERE request_id = $1""",
        request_id,
        at,
    )


async def record_failure(conn: asyncpg.Connection, request_id: str, status: str, reason: str) -> None:
    """`status` is 'pending' when the request will be tried again, 'failed' when it is given up."""
    await conn.execute(
        """UPDATE ingest.requests SET status = $2, last_error = $3, updated_at = now(),
                  finished_at = CASE WHEN $2 = 'failed' THEN now() END
           WHERE request_id = $1""",
        request_id,
        status,
        reason,
    )


async def media_handled(conn: asyncpg.Connection, items: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(kind, owner) -> the source URL last copied or refused for it."""
    rows = await conn.fetch(
        """SELECT m.kind, m.owner, m.source_url FROM ingest.media m
           JOIN unnest($1::text[], $2::text[]) AS w(kind, owner) ON (m.kind, m.owner) = (w.kind, w.owner)""",
        [kind for kind, _ in items],
        [owner for _, owner in items],
    )
    return {(r["kind"], r["owner"]): r["source_url"] for r in rows}


async def lock_media_owner(conn: asyncpg.Connection, kind: str, owner: str) -> str | None:
    """Inside a transaction: holds (kind, owner) until it ends, so two deliveries naming one image decide
    one after the other; answers the SHA-256 of the copy stored for it, if any."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        MEDIA_LOCK_CLASS,
        zlib.crc32(f"{kind}:{owner}".encode()) & 0x7FFFFFFF,
    )
    return await conn.fetchval("SELECT sha256 FROM ingest.media WHERE kind = $1 AND owner = $2", kind, owner)


async def record_media_stored(
    conn: asyncpg.Connection, *, kind: str, owner: str, username: str, source_url: str, key: str, sha256: str,
    size: int,
) -> None:  # fmt: skip
    await conn.execute(
        """INSERT INTO ingest.media (kind, owner, username, source_url, status, key, sha256, bytes, updated_at)
           VALUES ($1, $2, $3, $4, 'stored', $5, $6, $7, now())
           ON CONFLICT (kind, owner) DO UPDATE SET username = $3, source_url = $4, status = 'stored', key = $5,
               sha256 = $6, bytes = $7, reason = NULL, updated_at = now()""",
        kind,
        owner,
        username,
        source_url,
        key,
        sha256,
        size,
    )


async def record_media_refused(
    conn: asyncpg.Connection, *, kind: str, owner: str, username: str, source_url: str, reason: str
) -> None:
    """The URL is not tried again; a copy stored earlier for the owner stays its copy."""
    await conn.execute(
        """INSERT INTO ingest.media (kind, owner, username, source_url, status, reason, updated_at)
           VALUES ($1, $2, $3, $4, 'refused', $5, now())
           ON CONFLICT (kind, owner) DO UPDATE SET username = $3, source_url = $4, status = 'refused',
               reason = $5, updated_at = now()""",
        kind,
        owner,
        username,
        source_url,
        reason,
    )
