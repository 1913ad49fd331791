"""The competitor picker's SQL: a username's on-demand similar accounts (readmodel.similar_fetches,
by its primary key), each joined to its profile when known (primary_profiles' primary key) for the
category the discovery feed files it under; and a typed-in competitor's card and profile request."""

from __future__ import annotations

import asyncpg

_FETCH = """SELECT request_id, status, requested_at, fetched_at, error_code, error_message
            FROM readmodel.similar_fetches WHERE username = $1"""

# The provider's order; accounts known to be private are left out (they cannot be analysed), as is the
# username itself. A fresher profile of the account says more than the similar-accounts answer.
_SUGGESTIONS = """
    SELECT a.account->>'username' AS username,
           coalesce(nullif(a.account->>'full_name', ''), p.profile_name) AS full_name,
           coalesce(p.profile_image_url, a.account->>'profile_image_url') AS profile_image_url,
           coalesce((a.account->>'followers')::bigint, p.followers) AS followers,
           p.primary_category
    FROM readmodel.similar_fetches f
    CROSS JOIN LATERAL jsonb_array_elements(f.accounts) WITH ORDINALITY AS a(account, position)
    LEFT JOIN readmodel.primary_profiles p ON p.username = a.account->>'username'
    WHERE f.username = $1 AND a.account->>'username' <> $1
      AND NOT coalesce(p.is_private, (a.account->>'is_private')::boolean, false)
    ORDER BY a.position
    LIMIT $2"""

_CARD = """SELECT username, profile_name AS full_name, profile_image_url, followers, is_private,
                  last_scraped_at
           FROM readmodel.primary_profiles WHERE username = $1"""

_REQUEST = """SELECT status, error_code, error_message FROM readmodel.profile_queue WHERE request_id = $1"""


async def similar_fetch(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    return await conn.fetchrow(_FETCH, username)


async def suggestions(conn: asyncpg.Connection, username: str, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(_SUGGESTIONS, username, limit)


async def competitor_card(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    return await conn.fetchrow(_CARD, username)


async def profile_request(conn: asyncpg.Connection, request_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(_REQUEST, request_id)
