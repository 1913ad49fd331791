"""What the gateway reads and writes in PostgreSQL: the read model's answers, and its own session table.

idempotency.py keeps the SQL of its own table (gateway.idempotency_keys), as the lease helper keeps its;
the discovery feed's is in repository/feed.py, the analyses' (sessions, jobs, runs, results) in
repository/analyses.py.
A function taking the FairPool is one round trip on a connection of its own; one taking a connection
shares that connection with the caller's other questions.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from libs.events.catalog import profile_stream

# With the version of the profile's stream the row is at, read in the same snapshot (status cache's key).
_LATEST_REQUEST = """SELECT request_id, username, source, priority, status, "timestamp", attempts,
                            error_message, started_at, completed_at,
                            (SELECT version FROM readmodel.stream_checkpoints WHERE stream_id = $2)
                                AS projected_version
                     FROM readmodel.profile_queue WHERE username = $1
                     ORDER BY "timestamp" DESC LIMIT 1"""

# Active requests ahead of one (higher priority, or same priority and earlier), the seeds' estimate.
# Two range counts on the partial (priority, timestamp) index of active requests, no per-row CASE.
_POSITION = """SELECT 1
    + (SELECT count(*) FROM readmodel.profile_queue
       WHERE status IN ('PENDING', 'PROCESSING') AND priority = ANY($1::text[]))
    + (SELECT count(*) FROM readmodel.profile_queue
       WHERE status IN ('PENDING', 'PROCESSING') AND priority = $2 AND "timestamp" < $3
         AND request_id <> $4)"""
_AHEAD = {"HIGH": [], "MEDIUM": ["HIGH"], "LOW": ["HIGH", "MEDIUM"]}

_PROFILE_FIELDS = """username, profile_name, bio, followers, following, posts_count, is_verified,
    is_private, account_type, profile_image_url, total_reels, median_views, mean_views, std_views,
    total_views, total_likes, total_comments, engagement_rate, created_at, updated_at, last_scraped_at"""
_REEL_ORDER = {
    "popular": "view_count DESC NULLS LAST, content_id",
    "recent": "date_posted DESC NULLS LAST, content_id",
    "oldest": "date_posted ASC NULLS LAST, content_id",
    "outlier": "outlier_score DESC, content_id",
}
REEL_ORDERS = tuple(_REEL_ORDER)


async def latest_profile_request(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    return await conn.fetchrow(_LATEST_REQUEST, username, profile_stream(username))


async def queue_position(
    conn: asyncpg.Connection, priority: str, requested_at: datetime, request_id: str
) -> int:
    return int(await conn.fetchval(_POSITION, _AHEAD[priority], priority, requested_at, request_id))


async def primary_profile(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    """The profile as GET /api/profile/{username} shows it."""
    return await conn.fetchrow(
        f"SELECT {_PROFILE_FIELDS} FROM readmodel.primary_profiles WHERE username = $1", username
    )


async def profile_fetched_at(conn: asyncpg.Connection, username: str) -> datetime | None:
    """When the read model last got this profile, by whatever path (a request, an analysis)."""
    return await conn.fetchval(
        "SELECT last_scraped_at FROM readmodel.primary_profiles WHERE username = $1", username
    )


async def primary_profile_record(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    """Every column of the profile, as an analysis's results show it."""
    return await conn.fetchrow("SELECT * FROM readmodel.primary_profiles WHERE username = $1", username)


async def profile_reels(
    conn: asyncpg.Connection, username: str, order: str, limit: int, offset: int
) -> list[asyncpg.Record]:
    """One page of the profile's reels (its posts aside) in one of REEL_ORDERS, each row with the total
    as `total`."""
    return await conn.fetch(
        f"""SELECT content_id, shortcode, url, description, view_count, like_count, comment_count,
                   outlier_score, date_posted, transcript_available, thumbnail_url, count(*) OVER () AS total
            FROM readmodel.content WHERE username = $1 AND post_type = 'reel'
            ORDER BY {_REEL_ORDER[order]} LIMIT $2 OFFSET $3""",
        username,
        limit,
        offset,
    )


async def profile_reel_count(conn: asyncpg.Connection, username: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM readmodel.content WHERE username = $1 AND post_type = 'reel'", username
    )


async def similar_profiles(conn: asyncpg.Connection, username: str, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT similar_username AS username, full_name, followers, is_private, is_verified,
                  profile_image_url, rank, discovered_at
           FROM readmodel.similar_profiles WHERE primary_username = $1 ORDER BY rank LIMIT $2""",
        username,
        limit,
    )


async def crawl_run(conn: asyncpg.Connection, run_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM readmodel.crawl_runs WHERE run_id = $1", run_id)
