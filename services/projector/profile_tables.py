"""What each profile-<username> stream says: the profile request queue (profile_queue), and the fetched
data that serves every user (primary_profiles, content: reels and posts, similar_profiles).

Both profile ingestion and analysis write the fetched data (the seeds' dual storage)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from libs.events.envelope import Envelope
from services.projector import category_tables, media_tables, statements
from services.projector.domain import (
    CONTENT_COLUMNS,
    CREATOR_COLUMNS,
    REEL_CATEGORY_COLUMNS,
    Ahead,
    content_rows,
)

_PROFILE_COLUMNS = (
    "profile_name", "bio", "followers", "following", "posts_count", "is_verified", "is_private",
    "account_type", "profile_image_url", "total_reels", "median_views", "mean_views", "std_views",
    "total_views", "total_likes", "total_comments", "engagement_rate",
)  # fmt: skip
_PROFILE_TYPES = (
    "text", "text", "bigint", "bigint", "bigint", "boolean", "boolean", "text", "text", "integer", "float8",
    "float8", "float8", "bigint", "bigint", "bigint", "float8",
)  # fmt: skip
_AT = len(_PROFILE_COLUMNS) + 2


# Profile ingestion and analyses write the same rows, and their events may reach the projector in
# either order: the snapshot that occurred last wins whatever the order, so a rebuild from the store
# in commit order gives the same rows as the live projection.
def _newest(table: str, column: str) -> str:
    newer = f"EXCLUDED.updated_at >= {table}.updated_at"
    return f"{column} = CASE WHEN {newer} THEN EXCLUDED.{column} ELSE {table}.{column} END"


# Columnar (statements.py), as the statements below that a wave's events all send: one per wave.
_UPSERT_PROFILE = f"""
    INSERT INTO primary_profiles (username, {", ".join(_PROFILE_COLUMNS)}, created_at, updated_at,
                                  last_scraped_at)
    SELECT r.username, {", ".join(f"r.{c}" for c in _PROFILE_COLUMNS)}, r.at, r.at, r.at
    FROM unnest($1::text[], {", ".join(f"${i}::{t}[]" for i, t in enumerate(_PROFILE_TYPES, start=2))},
                ${_AT}::timestamptz[]) AS r(username, {", ".join(_PROFILE_COLUMNS)}, at)
    ON CONFLICT (username) DO UPDATE SET {", ".join(_newest("primary_profiles", c) for c in _PROFILE_COLUMNS)},
        created_at = least(primary_profiles.created_at, EXCLUDED.created_at),
        updated_at = greatest(primary_profiles.updated_at, EXCLUDED.updated_at),
        last_scraped_at = greatest(primary_profiles.last_scraped_at, EXCLUDED.last_scraped_at)"""
statements.columnar(_UPSERT_PROFILE, key=0)

_CONTENT_TYPES = {
    "shortcode": "text", "url": "text", "description": "text", "view_count": "bigint", "like_count": "bigint",
    "comment_count": "bigint", "outlier_score": "float8", "engagement_rate": "float8",
    "date_posted": "timestamptz", "thumbnail_url": "text", "post_type": "text", "carousel_count": "integer",
}  # fmt: skip
_N = len(CONTENT_COLUMNS)
_CATEGORY_TYPES = ("text", "text", "text", "text", "text", "timestamptz")  # keywords: a JSON list each
_CREATOR = ", ".join(c for c, _ in CREATOR_COLUMNS)
_CATEGORIES = ", ".join(REEL_CATEGORY_COLUMNS)


def _categorised_later(column: str) -> str:
    """A reel's categories carried by its ingestion replace the held ones under the categorisation's rule."""
    later = "EXCLUDED.categorised_at IS NOT NULL AND coalesce(content.categorised_at <= EXCLUDED.categorised_at, true)"
    return f"{column} = CASE WHEN {later} THEN EXCLUDED.{column} ELSE content.{column} END"


def _creators(column: str) -> str:
    """A row carries its own creator's values only (another's naming it, a collaboration, leaves them)."""
    return f"{column} = CASE WHEN content.username = EXCLUDED.username THEN EXCLUDED.{column} ELSE content.{column} END"


# One statement for all of a snapshot's reels and posts, and for those of every snapshot of a wave
# (columnar: the writer and the time are per row too). Each row takes its creator's columns from the
# profile as it stands (the batch's end puts right the rows of a profile that changed after).
_UPSERT_CONTENT = f"""
    INSERT INTO content (content_id, username, {", ".join(CONTENT_COLUMNS)}, transcript, transcript_available,
                         created_at, updated_at, {_CATEGORIES}, {_CREATOR})
    SELECT r.content_id, r.username, {", ".join(f"r.{c}" for c in CONTENT_COLUMNS)}, r.transcript,
           r.transcript IS NOT NULL, r.at, r.at, r.category,
           ARRAY(SELECT jsonb_array_elements_text(r.keywords::jsonb)),
           r.language, r.content_style, r.hook_type, r.categorised_at,
           {", ".join(f"p.{column}" for _, column in CREATOR_COLUMNS)}
    FROM unnest($1::text[], $2::timestamptz[], $3::text[],
                {", ".join(f"${i}::{_CONTENT_TYPES[c]}[]" for i, c in enumerate(CONTENT_COLUMNS, start=4))},
                ${_N + 4}::text[], {", ".join(f"${i}::{t}[]" for i, t in enumerate(_CATEGORY_TYPES, start=_N + 5))})
             AS r(username, at, content_id, {", ".join(CONTENT_COLUMNS)}, transcript, {_CATEGORIES})
    LEFT JOIN primary_profiles p ON p.username = r.username
    ON CONFLICT (content_id) DO UPDATE SET {", ".join(_newest("content", c) for c in CONTENT_COLUMNS)},
        transcript = CASE WHEN EXCLUDED.updated_at >= content.updated_at
                          THEN coalesce(EXCLUDED.transcript, content.transcript)
                          ELSE coalesce(content.transcript, EXCLUDED.transcript) END,
        transcript_available = content.transcript_available OR EXCLUDED.transcript_available,
        created_at = least(content.created_at, EXCLUDED.created_at),
        updated_at = greatest(content.updated_at, EXCLUDED.updated_at),
        {", ".join(_categorised_later(c) for c in REEL_CATEGORY_COLUMNS)},
        {", ".join(_creators(c) for c, _ in CREATOR_COLUMNS)}"""
statements.columnar(_UPSERT_CONTENT, key=2)


_REQUESTED = statements.columnar(
    """INSERT INTO profile_queue (request_id, username, source, priority, status, "timestamp", created_at,
                                  updated_at, projected_at)
       SELECT r.request_id, r.username, r.source, r.priority, 'PENDING', r.at, r.at, r.at, clock_timestamp()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
                AS r(request_id, username, source, priority, at)
       ON CONFLICT (request_id) DO NOTHING"""
)
_STARTED = statements.columnar(
    """UPDATE profile_queue q SET status = 'PROCESSING', attempts = r.attempt, last_attempt = r.at,
              started_at = coalesce(q.started_at, r.at), updated_at = r.at
       FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS r(request_id, attempt, at)
       WHERE q.request_id = r.request_id"""
)
_COMPLETED = statements.columnar(
    """UPDATE profile_queue q SET status = 'COMPLETED', attempts = r.attempts, error_message = NULL,
              error_code = NULL, completed_at = r.at, updated_at = r.at
       FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS r(request_id, attempts, at)
       WHERE q.request_id = r.request_id"""
)
_DELETE_SIMILAR = statements.columnar(
    "DELETE FROM similar_profiles WHERE primary_username = ANY($1::text[])", key=None
)


async def profile_requested(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        _REQUESTED, [p["request_id"]], [p["username"]], [p["source"]], [p["priority"]], [e.occurred_at]
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
    await conn.execute(_STARTED, [p["request_id"]], [p["attempt"]], [e.occurred_at])


async def profile_ingest_failed(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """UPDATE profile_queue SET status = $2, attempts = $3, error_message = $4, updated_at = $5,
                  completed_at = CASE WHEN $2 = 'FAILED' THEN $5 ELSE completed_at END, error_code = $6
           WHERE request_id = $1""",
        p["request_id"],
        "PENDING" if p["will_retry"] else "FAILED",
        p["attempts"],
        p["reason"],
        e.occurred_at,
        p["error_code"],
    )


async def profile_ingested(conn: asyncpg.Connection, e: Envelope) -> None:
    await profile_ingested_ahead_of(conn, e, Ahead())


async def profile_ingested_ahead_of(conn: asyncpg.Connection, e: Envelope, ahead: Ahead) -> None:
    """The ingestion, written together with the categorisations that follow it in its batch."""
    p = e.payload
    await conn.execute(_COMPLETED, [p["request_id"]], [p["attempts"]], [e.occurred_at])
    await upsert_profile(conn, p["profile"], e.occurred_at)
    for categorised in ahead.creator:  # before the rows, which take the creator's categories
        await category_tables.profile_categorised(conn, categorised)
    await upsert_reels(
        conn,
        p["username"],
        p["reels"],
        e.occurred_at,
        p.get("posts", []),
        p["profile"].get("followers"),
        ahead.reels,
    )
    await replace_similar(conn, p["username"], p.get("similar", []), e.occurred_at)


async def upsert_profile(conn: asyncpg.Connection, profile: dict[str, Any], at: datetime) -> None:
    await conn.execute(
        _UPSERT_PROFILE, [profile["username"]], *([profile.get(c)] for c in _PROFILE_COLUMNS), [at]
    )
    await media_tables.show_profile_copy(conn, profile["username"])


async def upsert_reels(
    conn: asyncpg.Connection,
    username: str,
    reels: Sequence[dict[str, Any]],
    at: datetime,
    posts: Sequence[dict[str, Any]] = (),
    followers: int | None = None,
    categories: Mapping[str, tuple[Mapping[str, Any], datetime]] | None = None,
) -> None:
    """Reels (and a profile snapshot's image and carousel posts, scored against its followers), with
    the categories that follow them in the batch."""
    rows = content_rows(reels, posts, followers)
    if not rows:
        return
    filed = [(categories or {}).get(row.content_id) for row in rows]
    await conn.execute(
        _UPSERT_CONTENT,
        [username] * len(rows),
        [at] * len(rows),
        [row.content_id for row in rows],
        *([row.values[i] for row in rows] for i in range(_N)),
        [row.transcript for row in rows],
        [f[0]["category"] if f else None for f in filed],
        [orjson.dumps(f[0].get("keywords") or []).decode() if f else None for f in filed],
        [f[0].get("language") if f else None for f in filed],
        [f[0].get("content_style") if f else None for f in filed],
        [f[0].get("hook_type") if f else None for f in filed],
        [f[1] if f else None for f in filed],
    )
    await media_tables.show_thumbnail_copies(conn, [row.content_id for row in rows])


async def replace_similar(
    conn: asyncpg.Connection, username: str, accounts: list[dict[str, Any]], at: datetime
) -> None:
    await conn.execute(_DELETE_SIMILAR, [username])
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
    await media_tables.show_similar_copies(conn, username)
