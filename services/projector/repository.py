"""The projector's own bookkeeping: the schema it projects into, a version checkpoint per stream, and
the profile queue's depth. The read-model tables themselves are written by the projections
(profile_tables, category_tables, analysis_tables, crawl_tables) and the batch's discovery totals
(discovery_tables)."""

from __future__ import annotations

import asyncpg

from libs.events import Envelope


async def project_into(conn: asyncpg.Connection, schema: str) -> None:
    """Projections name their tables unqualified, so a rebuild replays the same code into a fresh schema.

    Each statement is planned for its own arguments: a plan kept from when the tables were small (a
    fresh database, a rebuild) would scan them whole for every event as they grow.

    The batches of one schema wait for each other (a lock held to the transaction's end): the discovery
    totals are kept by difference, exact only when no other batch changes the rows between reading them
    and writing the totals. Taken first in every batch, so it cannot deadlock."""
    await conn.execute(
        f"""SET LOCAL search_path TO {schema}, public;
            SET LOCAL plan_cache_mode = force_custom_plan;
            SELECT pg_advisory_xact_lock(hashtext('projector:{schema}'))"""
    )


async def plans(conn: asyncpg.Connection, mode: str) -> None:
    """Custom plans for the batch's own look-ups (arrays of any length, tables of any size), but cached
    ones for the projections' statements, sent many times a batch (statements.py): each is a write by
    key, whose plan does not depend on its arguments, and planning them anew each time cost more than
    a third of a rebuild. PostgreSQL plans them again as ANALYZE finds the tables grown."""
    await conn.execute(f"SET LOCAL plan_cache_mode = {mode}")


async def lock_checkpoints(
    conn: asyncpg.Connection, streams: list[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """The streams' applied versions (0 for a new stream), locked until the transaction ends; taken in
    stream order so two batches sharing streams cannot deadlock. And the held ones: the version each
    is held at (a dead-lettered event of it)."""
    await conn.execute(
        """INSERT INTO stream_checkpoints (stream_id, version) SELECT unnest($1::text[]), 0
           ON CONFLICT DO NOTHING""",
        streams,
    )
    rows = await conn.fetch(
        """SELECT stream_id, version, held_version FROM stream_checkpoints
           WHERE stream_id = ANY($1::text[]) ORDER BY stream_id FOR UPDATE""",
        streams,
    )
    versions = {r["stream_id"]: r["version"] for r in rows}
    return versions, {r["stream_id"]: r["held_version"] for r in rows if r["held_version"] is not None}


async def save_checkpoints(conn: asyncpg.Connection, versions: dict[str, int]) -> None:
    await conn.execute(
        """UPDATE stream_checkpoints c SET version = v.version
           FROM unnest($1::text[], $2::int[]) AS v(stream_id, version)
           WHERE c.stream_id = v.stream_id""",
        list(versions),
        list(versions.values()),
    )


async def active_profile_requests(pool: asyncpg.Pool) -> dict[tuple[str, str], int]:
    """Requests PENDING or PROCESSING by (priority, status). Served by the partial index on active rows:
    cheap however long the finished history grows."""
    rows = await pool.fetch(
        """SELECT priority, status, count(*) AS n FROM readmodel.profile_queue
           WHERE status IN ('PENDING', 'PROCESSING') GROUP BY priority, status"""
    )
    return {(r["priority"], r["status"]): r["n"] for r in rows}


async def release(conn: asyncpg.Connection, streams: list[str]) -> None:
    await conn.execute(
        """UPDATE stream_checkpoints
           SET held_version = NULL, held_event_id = NULL, held_reason = NULL, held_at = NULL
           WHERE stream_id = ANY($1::text[])""",
        streams,
    )


async def hold(pool: asyncpg.Pool, schema: str, envelope: Envelope, reason: str) -> None:
    """The stream waits at this event, unless it was applied meanwhile; an earlier hold of it stays
    (the earliest dead letter is what later events wait for)."""
    await pool.execute(
        f"""INSERT INTO {schema}.stream_checkpoints AS c
                (stream_id, version, held_version, held_event_id, held_reason, held_at)
            VALUES ($1, 0, $2, $3, $4, now())
            ON CONFLICT (stream_id) DO UPDATE
            SET held_version = EXCLUDED.held_version, held_event_id = EXCLUDED.held_event_id,
                held_reason = EXCLUDED.held_reason, held_at = EXCLUDED.held_at
            WHERE c.version < EXCLUDED.held_version
              AND (c.held_version IS NULL OR c.held_version > EXCLUDED.held_version)""",
        envelope.stream_id,
        envelope.stream_version,
        envelope.event_id,
        reason[:1000],
    )


async def held_streams(pool: asyncpg.Pool) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM readmodel.stream_checkpoints WHERE held_version IS NOT NULL"
    )
