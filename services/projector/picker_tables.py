"""What each similar-<username> stream says: the competitor picker's on-demand similar accounts
(similar_fetches), one row per username. A stream's events apply in order, so each only moves its row on."""

from __future__ import annotations

import asyncpg

from libs.events.envelope import Envelope


async def similar_accounts_requested(conn: asyncpg.Connection, e: Envelope) -> None:
    """A new request; the accounts of the previous fetch stay until its answer."""
    p = e.payload
    await conn.execute(
        """INSERT INTO similar_fetches (username, request_id, priority, status, requested_at, updated_at)
           VALUES ($1, $2, $3, 'PENDING', $4, $4)
           ON CONFLICT (username) DO UPDATE SET request_id = $2, priority = $3, status = 'PENDING',
               requested_at = $4, error_code = NULL, error_message = NULL, updated_at = $4""",
        p["username"],
        p["request_id"],
        p["priority"],
        e.occurred_at,
    )


async def similar_accounts_fetched(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """UPDATE similar_fetches SET status = 'COMPLETED', fetched_at = $3, accounts = $4::jsonb,
                  error_code = NULL, error_message = NULL, updated_at = $3
           WHERE username = $1 AND request_id = $2""",
        p["username"],
        p["request_id"],
        e.occurred_at,
        p.get("accounts", []),  # the pool's jsonb codec encodes it
    )


async def similar_accounts_fetch_failed(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """UPDATE similar_fetches SET status = 'FAILED', error_code = $3, error_message = $4, updated_at = $5
           WHERE username = $1 AND request_id = $2""",
        p["username"],
        p["request_id"],
        p["error_code"],
        p["reason"],
        e.occurred_at,
    )
