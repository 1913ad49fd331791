"""Boards and their items (gateway.boards, gateway.board_items), with each item's current data from the
read models. Every statement names the owner: a board is found only by its owner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Thing:
    """What an item points at: a reel or post by content_id, or an analysis run's hook or script
    (1-based index, as the results number the scripts)."""

    kind: str
    content_id: str | None = None
    queue_id: str | None = None
    run: int | None = None
    index: int | None = None


_BOARD = """SELECT b.id::text AS id, b.name, b.created_at, b.updated_at,
                   (SELECT count(*) FROM gateway.board_items i WHERE i.board_id = b.id) AS item_count
            FROM gateway.boards b"""


async def lock_owner(conn: asyncpg.Connection, owner: str) -> None:
    """Serialises one user's board creations on every replica, so the per-user limit holds."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('boards:' || $1))", owner)


async def board_count(conn: asyncpg.Connection, owner: str) -> int:
    return await conn.fetchval("SELECT count(*) FROM gateway.boards WHERE owner_id = $1", owner)


async def create(conn: asyncpg.Connection, owner: str, name: str) -> asyncpg.Record:
    board_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO gateway.boards (id, owner_id, name) VALUES ($1, $2, $3)", board_id, owner, name
    )
    return await conn.fetchrow(f"{_BOARD} WHERE b.id = $1", board_id)


async def boards_of(conn: asyncpg.Connection, owner: str) -> list[asyncpg.Record]:
    return await conn.fetch(f"{_BOARD} WHERE b.owner_id = $1 ORDER BY b.created_at, b.id", owner)


async def board(
    conn: asyncpg.Connection, board_id: uuid.UUID, owner: str, *, lock: bool = False
) -> asyncpg.Record | None:
    """The owner's board; locked until the transaction ends when items are about to be counted."""
    return await conn.fetchrow(
        f"{_BOARD} WHERE b.id = $1 AND b.owner_id = $2" + (" FOR UPDATE OF b" if lock else ""),
        board_id,
        owner,
    )


async def rename(
    conn: asyncpg.Connection, board_id: uuid.UUID, owner: str, name: str
) -> asyncpg.Record | None:
    updated = await conn.fetchval(
        """UPDATE gateway.boards SET name = $3, updated_at = now() WHERE id = $1 AND owner_id = $2
           RETURNING id""",
        board_id,
        owner,
        name,
    )
    return await board(conn, board_id, owner) if updated else None


async def delete(conn: asyncpg.Connection, board_id: uuid.UUID, owner: str) -> bool:
    return await conn.fetchval(
        "DELETE FROM gateway.boards WHERE id = $1 AND owner_id = $2 RETURNING true", board_id, owner
    ) is not None  # fmt: skip


async def content_exists(conn: asyncpg.Connection, content_id: str) -> bool:
    return (
        await conn.fetchval("SELECT true FROM readmodel.content WHERE content_id = $1", content_id)
        is not None
    )


async def generated_exists(conn: asyncpg.Connection, thing: Thing) -> bool:
    """A finished run's hook (its generated_hooks, 1-based) or script (viral_scripts.script_index)."""
    if thing.kind == "hook":
        query = """SELECT jsonb_array_length(coalesce(analysis_data -> 'generated_hooks', '[]')) >= $3
                   FROM readmodel.viral_analysis_results WHERE queue_id = $1::uuid AND analysis_run = $2"""
    else:
        query = """SELECT true FROM readmodel.viral_scripts
                   WHERE queue_id = $1::uuid AND analysis_run = $2 AND script_index = $3"""
    return bool(await conn.fetchval(query, thing.queue_id, thing.run, thing.index))


async def add_item(
    conn: asyncpg.Connection, board_id: uuid.UUID, thing: Thing, note: str, tags: list[str]
) -> uuid.UUID:
    item_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO gateway.board_items
               (id, board_id, kind, content_id, queue_id, analysis_run, item_index, note, tags)
           VALUES ($1, $2, $3, $4, $5::uuid, $6, $7, $8, $9)""",
        item_id, board_id, thing.kind, thing.content_id, thing.queue_id, thing.run, thing.index, note, tags,
    )  # fmt: skip
    await conn.execute("UPDATE gateway.boards SET updated_at = now() WHERE id = $1", board_id)
    return item_id


async def item_count(conn: asyncpg.Connection, board_id: uuid.UUID) -> int:
    return await conn.fetchval("SELECT count(*) FROM gateway.board_items WHERE board_id = $1", board_id)


async def update_item(
    conn: asyncpg.Connection,
    board_id: uuid.UUID,
    item_id: uuid.UUID,
    note: str | None,
    tags: list[str] | None,
) -> bool:
    return await conn.fetchval(
        """UPDATE gateway.board_items SET note = coalesce($3, note), tags = coalesce($4, tags)
           WHERE board_id = $1 AND id = $2 RETURNING true""",
        board_id, item_id, note, tags,
    ) is not None  # fmt: skip


async def remove_item(conn: asyncpg.Connection, board_id: uuid.UUID, item_id: uuid.UUID) -> bool:
    return await conn.fetchval(
        "DELETE FROM gateway.board_items WHERE board_id = $1 AND id = $2 RETURNING true", board_id, item_id
    ) is not None  # fmt: skip


# Each item with what it points at now: a reel's or post's current numbers, a hook, a script. A thing
# gone from the read model (a rebuild without it) leaves its item, with null data.
_ITEMS = """
SELECT i.id::text AS id, i.kind, i.content_id, i.queue_id::text AS queue_id, i.analysis_run, i.item_index,
       i.note, i.tags, i.added_at,
       c.username, c.post_type, c.url, c.description, c.view_count, c.like_count, c.comment_count,
       c.outlier_score, c.engagement_rate, c.date_posted,
       r.analysis_data -> 'generated_hooks' -> (i.item_index - 1) AS hook,
       s.hook AS script_hook, s.script
FROM gateway.board_items i
LEFT JOIN readmodel.content c ON i.kind = 'content' AND c.content_id = i.content_id
LEFT JOIN readmodel.viral_analysis_results r
       ON i.kind = 'hook' AND r.queue_id = i.queue_id AND r.analysis_run = i.analysis_run
LEFT JOIN readmodel.viral_scripts s
       ON i.kind = 'script' AND s.queue_id = i.queue_id AND s.analysis_run = i.analysis_run
      AND s.script_index = i.item_index
WHERE i.board_id = $1 AND ($2::uuid IS NULL OR i.id = $2)
ORDER BY i.added_at, i.id"""


async def items(
    conn: asyncpg.Connection, board_id: uuid.UUID, item_id: uuid.UUID | None = None
) -> list[asyncpg.Record]:
    return await conn.fetch(_ITEMS, board_id, item_id)
