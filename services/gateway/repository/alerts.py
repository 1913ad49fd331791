"""The alert feed and webhook read models (readmodel.alerts, webhook_endpoints, webhook_deliveries),
every statement naming the owner, and when watched creators were last fetched."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def last_fetched(conn: asyncpg.Connection, usernames: list[str]) -> dict[str, datetime]:
    if not usernames:
        return {}
    rows = await conn.fetch(
        "SELECT username, last_scraped_at FROM readmodel.primary_profiles WHERE username = ANY($1::text[])",
        usernames,
    )
    return {r["username"]: r["last_scraped_at"] for r in rows}


async def alerts_of(conn: asyncpg.Connection, user_id: str, before: int, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM readmodel.alerts WHERE user_id = $1 AND position < $2
           ORDER BY position DESC LIMIT $3""",
        user_id,
        before,
        limit,
    )


async def alerts_after(
    conn: asyncpg.Connection, user_id: str, after: int, limit: int
) -> list[asyncpg.Record]:
    """The newest `limit` alerts after position `after`, oldest first (the order they are sent in)."""
    rows = await conn.fetch(
        """SELECT * FROM readmodel.alerts WHERE user_id = $1 AND position > $2
           ORDER BY position DESC LIMIT $3""",
        user_id,
        after,
        limit,
    )
    return rows[::-1]


async def endpoint_statuses(conn: asyncpg.Connection, user_id: str) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT endpoint_id, status FROM readmodel.webhook_endpoints WHERE user_id = $1", user_id
    )
    return {r["endpoint_id"]: r["status"] for r in rows}


async def deliveries_of(
    conn: asyncpg.Connection, user_id: str, endpoint_id: str, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM readmodel.webhook_deliveries WHERE endpoint_id = $1 AND user_id = $2
           ORDER BY first_attempt_at DESC LIMIT $3""",
        endpoint_id,
        user_id,
        limit,
    )


async def delivery(
    conn: asyncpg.Connection, user_id: str, endpoint_id: str, delivery_id: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT * FROM readmodel.webhook_deliveries
           WHERE delivery_id = $1 AND endpoint_id = $2 AND user_id = $3""",
        delivery_id,
        endpoint_id,
        user_id,
    )
