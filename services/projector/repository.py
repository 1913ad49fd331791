"""The projector's own bookkeeping: the schema it projects into, a version checkpoint per stream, and
the profile queue's depth. The read-model tables themselves are written by the projections
(profile_tables, category_tables, analysis_tables, crawl_tables) and the batch's discovery totals
(discovery_tables)."""

from __future__ import annotations

import asyncpg


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


async def lock_checkpoints(conn: asyncpg.Connection, streams: list[str]) -> dict[str, int]:
    """The streams' applied versions (0 for a new stream), locked until the transaction ends; taken in
    stream order so two batches sharing streams cannot deadlock."""
    await conn.execute(
        """INSERT INTO stream_checkpoints (stream_id, version) SELECT unnest($1::text[]), 0
           ON CONFLICT DO NOTHING""",
        streams,
    )
    rows = await conn.fetch(
        """SELECT stream_id, version FROM stream_checkpoints WHERE stream_id = ANY($1::text[])
           ORDER BY stream_id FOR UPDATE""",
        streams,
    )
    return {r["stream_id"]: r["version"] for r in rows}


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
