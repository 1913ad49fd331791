"""How each event changes the read-model tables. Table names are unqualified: the caller sets the
search_path, so a rebuild can replay the same code into a fresh schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from libs.events.envelope import Envelope
from services.projector import analysis_tables
from services.projector.crawl_tables import CRAWL_PROJECTIONS
from services.projector.profile_tables import replace_similar, upsert_profile, upsert_reels

Projection = Callable[[asyncpg.Connection, Envelope], Awaitable[None]]


async def profile_requested(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """INSERT INTO profile_queue (request_id, username, source, priority, status, "timestamp",
                                      created_at, updated_at, projected_at)
           VALUES ($1, $2, $3, $4, 'PENDING', $5, $5, $5, clock_timestamp())
           ON CONFLICT (request_id) DO NOTHING""",
        p["request_id"],
        p["username"],
        p["source"],
        p["priority"],
        e.occurred_at,
    )


async def profile_request_promoted(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        "UPDATE profile_queue SET priority = $2, updated_at = $3 WHERE request_id = $1",
        p["request_id"],
        p["priority"],
        e.occurred_at,
    )


async def profile_ingest_started(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """UPDATE profile_queue SET status = 'PROCESSING', attempts = $2, last_attempt = $3,
                  started_at = coalesce(started_at, $3), updated_at = $3
           WHERE request_id = $1""",
        p["request_id"],
        p["attempt"],
        e.occurred_at,
    )


async def profile_ingest_failed(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """UPDATE profile_queue SET status = $2, attempts = $3, error_message = $4, updated_at = $5,
                  completed_at = CASE WHEN $2 = 'FAILED' THEN $5 ELSE completed_at END
           WHERE request_id = $1""",
        p["request_id"],
        "PENDING" if p["will_retry"] else "FAILED",
        p["attempts"],
        p["reason"],
        e.occurred_at,
    )


async def profile_ingested(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """UPDATE profile_queue SET status = 'COMPLETED', attempts = $2, error_message = NULL,
                  completed_at = $3, updated_at = $3
           WHERE request_id = $1""",
        p["request_id"],
        p["attempts"],
        e.occurred_at,
    )
    await upsert_profile(conn, p["profile"], e.occurred_at)
    await upsert_reels(conn, p["username"], p["reels"], e.occurred_at)
    await replace_similar(conn, p["username"], p.get("similar", []), e.occurred_at)


PROJECTIONS: dict[str, Projection] = {
    "ProfileRequested": profile_requested,
    "ProfileRequestPromoted": profile_request_promoted,
    "ProfileIngestStarted": profile_ingest_started,
    "ProfileIngestFailed": profile_ingest_failed,
    "ProfileIngested": profile_ingested,
    **analysis_tables.PROJECTIONS,
    **CRAWL_PROJECTIONS,
}
