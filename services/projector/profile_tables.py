"""What each profile-<username> stream says: the profile request queue (profile_queue), and the fetched
data that serves every user (primary_profiles, content, similar_profiles).

Both profile ingestion and analysis write the fetched data (the seeds' dual storage)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from libs.events.envelope import Envelope

_PROFILE_COLUMNS = (
    "profile_name", "bio", "followers", "following", "posts_count", "is_verified", "is_private",
    "account_type", "profile_image_url", "total_reels", "median_views", "mean_views", "std_views",
    "total_views", "total_likes", "total_comments", "engagement_rate",
)  # fmt: skip
_AT = len(_PROFILE_COLUMNS) + 2


# Profile ingestion and analyses write the same rows, and their events may reach the projector in
# either order: the snapshot that occurred last wins whatever the order, so a rebuild from the store
# in commit order gives the same rows as the live projection.
def _newest(table: str, column: str) -> str:
    newer = f"EXCLUDED.updated_at >= {table}.updated_at"
    return f"{column} = CASE WHEN {newer} THEN EXCLUDED.{column} ELSE {table}.{column} END"


_UPSERT_PROFILE = f"""
    INSERT INTO primary_profiles (username, {", ".join(_PROFILE_COLUMNS)}, created_at, updated_at,
                                  last_scraped_at)
    VALUES ($1, {", ".join(f"${i}" for i in range(2, _AT))}, ${_AT}, ${_AT}, ${_AT})
    ON CONFLICT (username) DO UPDATE SET {", ".join(_newest("primary_profiles", c) for c in _PROFILE_COLUMNS)},
        created_at = least(primary_profiles.created_at, EXCLUDED.created_at),
        updated_at = greatest(primary_profiles.updated_at, EXCLUDED.updated_at),
        last_scraped_at = greatest(primary_profiles.last_scraped_at, EXCLUDED.last_scraped_at)"""

_REEL_COLUMNS = (
    "shortcode", "url", "description", "view_count", "like_count", "comment_count", "outlier_score",
    "engagement_rate", "date_posted", "thumbnail_url",
)  # fmt: skip
_T = len(_REEL_COLUMNS) + 3
_UPSERT_REEL = f"""
    INSERT INTO content (content_id, username, {", ".join(_REEL_COLUMNS)}, transcript, transcript_available,
                         created_at, updated_at)
    VALUES ($1, $2, {", ".join(f"${i}" for i in range(3, _T))}, ${_T}::text, ${_T}::text IS NOT NULL,
            ${_T + 1}, ${_T + 1})
    ON CONFLICT (content_id) DO UPDATE SET {", ".join(_newest("content", c) for c in _REEL_COLUMNS)},
        transcript = CASE WHEN EXCLUDED.updated_at >= content.updated_at
                          THEN coalesce(EXCLUDED.transcript, content.transcript)
                          ELSE coalesce(content.transcript, EXCLUDED.transcript) END,
        transcript_available = content.transcript_available OR EXCLUDED.transcript_available,
        created_at = least(content.created_at, EXCLUDED.created_at),
        updated_at = greatest(content.updated_at, EXCLUDED.updated_at)"""


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


async def upsert_profile(conn: asyncpg.Connection, profile: dict[str, Any], at: datetime) -> None:
    await conn.execute(_UPSERT_PROFILE, profile["username"], *(profile.get(c) for c in _PROFILE_COLUMNS), at)


async def upsert_reels(
    conn: asyncpg.Connection, username: str, reels: list[dict[str, Any]], at: datetime
) -> None:
    await conn.executemany(
        _UPSERT_REEL,
        [
            (r["content_id"], username, *(_reel_value(r, c) for c in _REEL_COLUMNS), r.get("transcript"), at)
            for r in reels
        ],
    )


async def replace_similar(
    conn: asyncpg.Connection, username: str, accounts: list[dict[str, Any]], at: datetime
) -> None:
    await conn.execute("DELETE FROM similar_profiles WHERE primary_username = $1", username)
    await conn.executemany(
        """INSERT INTO similar_profiles (primary_username, similar_username, full_name, followers,
                                         is_private, is_verified, profile_image_url, rank, discovered_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING""",
        [
            (username, a["username"], a.get("full_name"), a.get("followers"), a.get("is_private"),
             a.get("is_verified"), a.get("profile_image_url"), rank, at)
            for rank, a in enumerate(accounts, start=1)
        ],
    )  # fmt: skip


def _reel_value(reel: dict[str, Any], column: str) -> object:
    value = reel.get(column)
    if column == "date_posted" and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value
