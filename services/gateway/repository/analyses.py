"""The analyses' SQL: the gateway's session table (who owns each job), and the read model's jobs, runs
and results. A function taking the FairPool is one round trip on a connection of its own; one taking a
connection shares that connection with the caller's other questions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from libs.events.db import FairPool

# The job and its competitors in one round trip (records: username, status, method, added, error).
# The session as the gateway recorded it (its owner), with the job's summary once projected (else its
# columns are null) and its competitors, in one round trip (records: username, status, method, added,
# error). The summary is asked by session_id as a constant, which the grouped view pushes down. And the
# version of the job's stream these rows are at, read in the same snapshot (the status cache's key).
_JOB_STATUS = """
SELECT g.queue_id AS session_queue_id, g.owner_id AS session_owner_id, s.*, c.competitor_rows,
       (SELECT version FROM readmodel.stream_checkpoints WHERE stream_id = 'analysis-' || g.queue_id::text)
           AS projected_version
FROM gateway.analysis_sessions g
LEFT JOIN LATERAL (SELECT * FROM readmodel.viral_queue_summary WHERE session_id = $1) s ON true
LEFT JOIN LATERAL (
    SELECT array_agg((competitor_username, processing_status, selection_method, added_at, error_message)
                     ORDER BY position) AS competitor_rows
    FROM readmodel.viral_ideas_competitors WHERE queue_id = s.id AND is_active
) c ON true
WHERE g.session_id = $1"""


async def insert_analysis_session(
    conn: asyncpg.Connection, session_id: str, queue_id: uuid.UUID, owner_id: str | None
) -> None:
    """A session has one analysis: a second raises asyncpg.UniqueViolationError."""
    await conn.execute(
        "INSERT INTO gateway.analysis_sessions (session_id, queue_id, owner_id) VALUES ($1, $2, $3)",
        session_id,
        queue_id,
        owner_id,
    )


@dataclass(frozen=True)
class Session:
    """A job as the gateway recorded it when it was created: its ids and its owner (None: anonymous)."""

    session_id: str
    queue_id: uuid.UUID
    owner_id: str | None


async def session_by_id(pool: FairPool, session_id: str) -> Session | None:
    row = await pool.fetchrow(
        "SELECT session_id, queue_id, owner_id FROM gateway.analysis_sessions WHERE session_id = $1",
        session_id,
    )
    return Session(**row) if row is not None else None


async def session_of_queue(conn: asyncpg.Connection, queue_id: str) -> Session | None:
    row = await conn.fetchrow(
        "SELECT session_id, queue_id, owner_id FROM gateway.analysis_sessions WHERE queue_id = $1",
        queue_id,
    )
    return Session(**row) if row is not None else None


async def running_analyses_of(conn: asyncpg.Connection, owner_id: str) -> int:
    """The user's analyses queued or running, in a transaction that holds the user's lock until it
    commits (so two requests of one user, on any replicas, count one after the other). A job the
    projector has not shown yet counts as queued."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"analyses-of:{owner_id}")
    return await conn.fetchval(
        """SELECT count(*) FROM gateway.analysis_sessions s
           LEFT JOIN readmodel.viral_ideas_queue q ON q.id = s.queue_id
           WHERE s.owner_id = $1 AND coalesce(q.status, 'pending') IN ('pending', 'processing')""",
        owner_id,
    )


async def analysis_runs(
    conn: asyncpg.Connection, queue_id: str, limit: int, offset: int
) -> list[asyncpg.Record]:
    """A job's runs, the latest first, each row with the number of runs as `total`."""
    return await conn.fetch(
        """SELECT *, count(*) OVER () AS total FROM readmodel.viral_analysis_runs WHERE queue_id = $1
           ORDER BY run DESC LIMIT $2 OFFSET $3""",
        queue_id,
        limit,
        offset,
    )


async def pending_job_ids(pool: FairPool) -> list[str]:
    """The analyses waiting to run, in the order they are to run."""
    rows = await pool.fetch(
        "SELECT id FROM readmodel.viral_ideas_queue WHERE status = 'pending' ORDER BY priority, submitted_at"
    )
    return [str(row["id"]) for row in rows]


async def job_status_row(pool: FairPool, session_id: str) -> asyncpg.Record | None:
    """The session (session_queue_id, session_owner_id) and its job's summary, null until projected,
    with its active competitors as `competitor_rows`; None for no such session."""
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


@dataclass(frozen=True)
class JobScope:
    """Whose jobs a list may show: everyone's (an administrator), one user's, or nobody's (an anonymous
    caller: an anonymous job's ids are given to its creator alone, never listed)."""

    everyone: bool = False
    owner_id: str | None = None

    @property
    def nobody(self) -> bool:
        return not self.everyone and self.owner_id is None

    def where(self, column: str, param: int) -> tuple[str, list[str]]:
        """The condition on an owner column as parameter number `param`, and its argument, if any.
        (An administrator's condition is no condition; anonymous callers' lists are not queried.)"""
        if self.everyone or self.owner_id is None:
            return "true", []
        return f"{column} = ${param}", [self.owner_id]


async def queue_statistics(conn: asyncpg.Connection, scope: JobScope) -> QueueStatistics:
    """The counts are everyone's (no ids in them); the lists only the scope's jobs."""
    analyses = {
        r["status"]: r["n"]
        for r in await conn.fetch(
            "SELECT status, count(*) AS n FROM readmodel.viral_ideas_queue GROUP BY status"
        )
    }
    recent: list[asyncpg.Record] = []
    processing: list[asyncpg.Record] = []
    if not scope.nobody:
        condition, args = scope.where("owner_id", 1)
        recent = await conn.fetch(
            f"""SELECT q.id, q.session_id, q.primary_username, q.status, q.progress_percentage, q.current_step,
                       q.submitted_at, q.content_strategy ->> 'contentType' AS content_type,
                       q.content_strategy ->> 'targetAudience' AS target_audience,
                       (SELECT count(*) FROM readmodel.viral_ideas_competitors c
                        WHERE c.queue_id = q.id AND c.is_active) AS active_competitors_count
                FROM readmodel.viral_ideas_queue q WHERE {condition} ORDER BY q.submitted_at DESC LIMIT 10""",
            *args,
        )
        processing = await conn.fetch(
            f"""SELECT id, primary_username, current_step, progress_percentage FROM readmodel.viral_ideas_queue
                WHERE status = 'processing' AND {condition} ORDER BY started_processing_at""",
            *args,
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


# What the original's check-existing answered about the job it found.
_EXISTING_FIELDS = """q.id, q.session_id, q.primary_username, q.status, q.progress_percentage, q.current_step,
    q.submitted_at, q.started_processing_at, q.completed_at, q.error_message"""


def _owned_by(scope: JobScope, column: str) -> tuple[str, list[str]]:
    """check-existing's scope: a user's own jobs, an administrator's every job, an anonymous caller's
    the anonymous jobs (whose ids the answer then leaves out)."""
    return (f"{column} IS NULL", []) if scope.nobody else scope.where(column, 2)


async def latest_finished_analysis(
    conn: asyncpg.Connection, username: str, scope: JobScope
) -> asyncpg.Record | None:
    """The last finished run of an analysis of this primary profile in the scope, with its job."""
    condition, args = _owned_by(scope, "q.owner_id")
    return await conn.fetchrow(
        f"""SELECT {_EXISTING_FIELDS}, r.analysis_run, r.analysis_completed_at
            FROM readmodel.viral_analysis_results r JOIN readmodel.viral_ideas_queue q ON q.id = r.queue_id
            WHERE q.primary_username = $1 AND {condition}
            ORDER BY r.analysis_completed_at DESC LIMIT 1""",
        username,
        *args,
    )


async def active_analysis(conn: asyncpg.Connection, username: str, scope: JobScope) -> asyncpg.Record | None:
    """The latest analysis of this primary profile in the scope that is pending or processing."""
    condition, args = _owned_by(scope, "q.owner_id")
    return await conn.fetchrow(
        f"""SELECT {_EXISTING_FIELDS} FROM readmodel.viral_ideas_queue q
            WHERE primary_username = $1 AND status IN ('pending', 'processing') AND {condition}
            ORDER BY submitted_at DESC LIMIT 1""",
        username,
        *args,
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


@dataclass(frozen=True)
class ManualQueue:
    """A manual run's place among the manual runs waiting (1: next), and the runs finished in the last
    24 hours that estimates are measured from (how many, their mean seconds)."""

    position: int
    finished_last_24h: int
    mean_run_s: float | None


async def manual_queue(conn: asyncpg.Connection, queue_id: str, run: int) -> ManualQueue:
    row = await conn.fetchrow(
        """SELECT 1 + (SELECT count(*) FROM readmodel.viral_analysis_runs
                       WHERE outcome = 'queued' AND trigger = 'manual' AND NOT (queue_id = $1 AND run = $2))
                  AS position,
                  f.n, f.mean_s
           FROM (SELECT count(*) AS n, avg(processing_time_seconds) AS mean_s FROM readmodel.viral_analysis_runs
                 WHERE outcome = 'completed' AND finished_at > now() - interval '24 hours') f""",
        queue_id,
        run,
    )
    return ManualQueue(row["position"], row["n"], row["mean_s"])
