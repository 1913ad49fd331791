"""What the gateway reads and writes in PostgreSQL: the read model's answers, and its own session table.

idempotency.py keeps the SQL of its own table (gateway.idempotency_keys), as the lease helper keeps its;
the discovery feed's is in repository/feed.py.
A function taking the FairPool is one round trip on a connection of its own; one taking a connection
shares that connection with the caller's other questions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from libs.events.db import FairPool

_LATEST_REQUEST = """SELECT request_id, username, source, priority, status, "timestamp", attempts,
                            error_message, started_at, completed_at
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

# The job and its competitors in one round trip (records: username, status, method, added, error).
_JOB_STATUS = """
SELECT s.*, c.competitor_rows FROM readmodel.viral_queue_summary s
LEFT JOIN LATERAL (
    SELECT array_agg((competitor_username, processing_status, selection_method, added_at, error_message)
                     ORDER BY position) AS competitor_rows
    FROM readmodel.viral_ideas_competitors WHERE queue_id = s.id AND is_active
) c ON true
WHERE s.session_id = $1"""


async def latest_profile_request(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    return await conn.fetchrow(_LATEST_REQUEST, username)


async def queue_position(
    conn: asyncpg.Connection, priority: str, requested_at: datetime, request_id: str
) -> int:
    return int(await conn.fetchval(_POSITION, _AHEAD[priority], priority, requested_at, request_id))


async def primary_profile(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    """The profile as GET /api/profile/{username} shows it."""
    return await conn.fetchrow(
        f"SELECT {_PROFILE_FIELDS} FROM readmodel.primary_profiles WHERE username = $1", username
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


async def insert_analysis_session(conn: asyncpg.Connection, session_id: str, queue_id: uuid.UUID) -> None:
    """A session has one analysis: a second raises asyncpg.UniqueViolationError."""
    await conn.execute(
        "INSERT INTO gateway.analysis_sessions (session_id, queue_id) VALUES ($1, $2)",
        session_id,
        queue_id,
    )


async def queue_id_of_session(pool: FairPool, session_id: str) -> uuid.UUID | None:
    return await pool.fetchval(
        "SELECT queue_id FROM gateway.analysis_sessions WHERE session_id = $1", session_id
    )


async def pending_job_ids(pool: FairPool) -> list[str]:
    """The analyses waiting to run, in the order they are to run."""
    rows = await pool.fetch(
        "SELECT id FROM readmodel.viral_ideas_queue WHERE status = 'pending' ORDER BY priority, submitted_at"
    )
    return [str(row["id"]) for row in rows]


async def job_status_row(pool: FairPool, session_id: str) -> asyncpg.Record | None:
    """The job's summary with its active competitors as `competitor_rows`."""
    return await pool.fetchrow(_JOB_STATUS, session_id)


async def stream_checkpoint(pool: FairPool, stream: str) -> int:
    """The version of the stream the read model has projected (0 before its first event)."""
    value = await pool.fetchval(
        "SELECT version FROM readmodel.stream_checkpoints WHERE stream_id = $1", stream
    )
    return int(value or 0)


@dataclass(frozen=True)
class QueueStatistics:
    """The analyses by status, the 10 latest, those processing, those finished in the last 24 hours
    (n, avg_minutes), and the profile requests by (status, priority)."""

    analyses: dict[str, int]
    recent: list[asyncpg.Record]
    processing: list[asyncpg.Record]
    finished_last_24h: asyncpg.Record
    profile_requests: dict[tuple[str, str], int]


async def queue_statistics(conn: asyncpg.Connection) -> QueueStatistics:
    analyses = {
        r["status"]: r["n"]
        for r in await conn.fetch(
            "SELECT status, count(*) AS n FROM readmodel.viral_ideas_queue GROUP BY status"
        )
    }
    recent = await conn.fetch(
        """SELECT id, session_id, primary_username, status, progress_percentage, current_step, submitted_at
           FROM readmodel.viral_ideas_queue ORDER BY submitted_at DESC LIMIT 10"""
    )
    processing = await conn.fetch(
        """SELECT id, primary_username, current_step, progress_percentage FROM readmodel.viral_ideas_queue
           WHERE status = 'processing' ORDER BY started_processing_at"""
    )
    finished = await conn.fetchrow(
        """SELECT count(*) AS n,
                  avg(extract(epoch FROM completed_at - started_processing_at) / 60) AS avg_minutes
           FROM readmodel.viral_ideas_queue
           WHERE status = 'completed' AND completed_at >= now() - interval '24 hours'"""
    )
    assert finished is not None  # an aggregate without GROUP BY has exactly one row
    profile_requests = {
        (r["status"], r["priority"]): r["n"]
        for r in await conn.fetch(
            "SELECT status, priority, count(*) AS n FROM readmodel.profile_queue GROUP BY status, priority"
        )
    }
    return QueueStatistics(analyses, recent, processing, finished, profile_requests)


async def latest_finished_analysis(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    """The last finished run of an analysis of this primary profile, with its job."""
    return await conn.fetchrow(
        """SELECT q.id, q.session_id, q.status, r.analysis_run, r.analysis_completed_at
           FROM readmodel.viral_analysis_results r JOIN readmodel.viral_ideas_queue q ON q.id = r.queue_id
           WHERE q.primary_username = $1 ORDER BY r.analysis_completed_at DESC LIMIT 1""",
        username,
    )


async def active_analysis(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    """The latest analysis of this primary profile that is pending or processing."""
    return await conn.fetchrow(
        """SELECT id, session_id, status, progress_percentage, current_step FROM readmodel.viral_ideas_queue
           WHERE primary_username = $1 AND status IN ('pending', 'processing')
           ORDER BY submitted_at DESC LIMIT 1""",
        username,
    )


async def analysis_result(conn: asyncpg.Connection, queue_id: str, run: int | None) -> asyncpg.Record | None:
    """A finished run's result with the job's primary username; the latest run when run is None."""
    return await conn.fetchrow(
        """SELECT r.*, q.primary_username FROM readmodel.viral_analysis_results r
           JOIN readmodel.viral_ideas_queue q ON q.id = r.queue_id
           WHERE r.queue_id = $1 AND ($2::int IS NULL OR r.analysis_run = $2)
           ORDER BY r.analysis_run DESC LIMIT 1""",
        queue_id,
        run,
    )


async def analysed_reels(conn: asyncpg.Connection, queue_id: str, run: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM readmodel.viral_analysis_reels WHERE queue_id = $1 AND analysis_run = $2
           ORDER BY rank""",
        queue_id,
        run,
    )


async def latest_analysed_run(conn: asyncpg.Connection, queue_id: str) -> int | None:
    """The last run with analysed reels (None before any)."""
    return await conn.fetchval(
        "SELECT max(analysis_run) FROM readmodel.viral_analysis_reels WHERE queue_id = $1", queue_id
    )


async def analysed_content(
    conn: asyncpg.Connection, queue_id: str, run: int, content_type: str, limit: int, offset: int
) -> list[asyncpg.Record]:
    """One page of a run's reels, the best outliers first, of one reel_type or 'all'; each row with the
    total as `total`."""
    return await conn.fetch(
        """SELECT *, count(*) OVER () AS total FROM readmodel.viral_analysis_reels
           WHERE queue_id = $1 AND analysis_run = $2 AND ($3 = 'all' OR reel_type = $3)
           ORDER BY outlier_score DESC, rank LIMIT $4 OFFSET $5""",
        queue_id,
        run,
        content_type,
        limit,
        offset,
    )


async def crawl_run(conn: asyncpg.Connection, run_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM readmodel.crawl_runs WHERE run_id = $1", run_id)
