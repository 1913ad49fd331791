"""viral-analysis's tables (schema `analysis`): jobs with their lease, stored results, the transcript cache;
and the notification that wakes the workers."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
import orjson

from libs.events.catalog import AnalysisRequested, AnalysisTriggered, AnalysisUpdated, Competitor
from libs.events.db import connect
from libs.leases import LeaseTable
from services.viral_analysis.domain import Job, NicheBaseline

# A job is worked on while it is processing; its lease says by whom and until when.
JOBS = LeaseTable("analysis.jobs", key="queue_id", held="status = 'processing'")

# Workers wake on this notification, which PostgreSQL delivers only once the job change committed
# (setting an in-process event inside the transaction let a worker look before the row was there).
JOBS_CHANNEL = "analysis_jobs"

# Manual runs first, then priority, then the oldest trigger; a processing job whose lease expired (its
# worker died, or handed it back) is claimed again and restarted with the same run number.
_CLAIM = """
WITH next AS (
    SELECT queue_id, status FROM analysis.jobs
    WHERE status = 'pending' OR (status = 'processing' AND lease_expires_at < now())
    ORDER BY (trigger = 'manual') DESC, priority, triggered_at
    LIMIT 1 FOR UPDATE SKIP LOCKED
)
UPDATE analysis.jobs j
SET status = 'processing', lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2),
    cancel_requested = false,
    run = CASE WHEN next.status = 'pending' THEN j.run + 1 ELSE j.run END
FROM next WHERE j.queue_id = next.queue_id
RETURNING j.*, next.status AS previous_status"""


@dataclass(frozen=True)
class StepCheck:
    lease_owner: str | None
    cancel_requested: bool


async def notify_workers(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_notify($1, '')", JOBS_CHANNEL)


async def listen_for_jobs(dsn: str, wake: asyncio.Event) -> None:
    """Set `wake` on every committed job change; raises (to be restarted) if the connection drops."""
    conn = await connect(dsn)
    closed = asyncio.Event()
    try:
        conn.add_termination_listener(lambda _conn: closed.set())
        await conn.add_listener(JOBS_CHANNEL, lambda *_: wake.set())
        wake.set()  # changes made while not listening are found by the next claim
        await closed.wait()
        raise ConnectionError("the job notification connection closed")
    finally:
        await conn.close(timeout=2)


async def insert_job(
    conn: asyncpg.Connection,
    event: AnalysisRequested,
    *,
    submitted_at: datetime,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID,
) -> None:
    """A redelivered request finds its job already there."""
    await conn.execute(
        """INSERT INTO analysis.jobs (queue_id, session_id, primary_username, competitors,
               content_strategy, analysis_settings, priority, auto_rerun_enabled,
               rerun_frequency_hours, status, trigger, submitted_at, triggered_at,
               correlation_id, causation_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 'queued', $10, $10, $11, $12)
           ON CONFLICT (queue_id) DO NOTHING""",
        event.queue_id,
        event.session_id,
        event.primary_username,
        _usernames(event.competitors),
        orjson.loads(event.content_strategy.model_dump_json()),
        event.analysis_settings,
        event.priority,
        event.auto_rerun_enabled,
        event.rerun_frequency_hours,
        submitted_at,
        correlation_id,
        causation_id,
    )


async def trigger_job(
    conn: asyncpg.Connection,
    event: AnalysisTriggered,
    *,
    triggered_at: datetime,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID,
) -> bool:
    """Queue the job for another run; a job running now is left alone (False)."""
    result = await conn.execute(
        """UPDATE analysis.jobs SET status = 'pending', trigger = $2, triggered_at = $3,
                  cancel_requested = false, correlation_id = $4, causation_id = $5
           WHERE queue_id = $1 AND status <> 'processing'""",
        event.queue_id,
        event.trigger,
        triggered_at,
        correlation_id,
        causation_id,
    )
    return result != "UPDATE 0"


async def cancel_job(conn: asyncpg.Connection, queue_id: str) -> None:
    """A pending job is simply dropped; a running one is asked to stop at its next step."""
    await conn.execute(
        """UPDATE analysis.jobs
              SET status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
                  cancel_requested = (status = 'processing')
           WHERE queue_id = $1 AND status IN ('pending', 'processing')""",
        queue_id,
    )


async def update_job(conn: asyncpg.Connection, event: AnalysisUpdated) -> None:
    """The owner's changes, for the next claim (a running job keeps the settings it was claimed with).
    The schedule follows a changed frequency from the last completion; disabled, nothing is due."""
    strategy = orjson.loads(event.content_strategy.model_dump_json()) if event.content_strategy else None
    await conn.execute(
        """UPDATE analysis.jobs
              SET competitors = coalesce($2::jsonb, competitors),
                  content_strategy = coalesce($3::jsonb, content_strategy),
                  auto_rerun_enabled = coalesce($4, auto_rerun_enabled),
                  rerun_frequency_hours = coalesce($5, rerun_frequency_hours),
                  next_scheduled_run = CASE
                      WHEN $4 IS NULL AND $5::int IS NULL THEN next_scheduled_run
                      WHEN NOT coalesce($4, auto_rerun_enabled) THEN NULL
                      WHEN status = 'completed' AND last_completed_at IS NOT NULL
                          THEN last_completed_at + make_interval(hours => coalesce($5::int, rerun_frequency_hours))
                      ELSE next_scheduled_run END
           WHERE queue_id = $1""",
        event.queue_id,
        None if event.competitors is None else _usernames(event.competitors),
        strategy,
        event.auto_rerun_enabled,
        event.rerun_frequency_hours,
    )


def _usernames(competitors: list[Competitor]) -> list[str]:
    # A run needs whom to fetch, not how the creator chose them (the read model keeps that).
    return [c.username for c in competitors]


async def claim_next(conn: asyncpg.Connection, owner: str, lease_s: float) -> tuple[Job, str] | None:
    """The next job to run, leased to `owner`, with the status it had (pending, or processing: a restart)."""
    row = await conn.fetchrow(_CLAIM, owner, lease_s)
    if row is None:
        return None
    job = Job(
        queue_id=str(row["queue_id"]),
        session_id=row["session_id"],
        primary_username=row["primary_username"],
        competitors=list(row["competitors"]),
        content_strategy=row["content_strategy"],
        analysis_settings=row["analysis_settings"],
        run=row["run"],
        trigger=row["trigger"],
        last_completed_at=row["last_completed_at"],
        auto_rerun_enabled=row["auto_rerun_enabled"],
        rerun_frequency_hours=row["rerun_frequency_hours"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
    )
    return job, row["previous_status"]


async def check_step(pool: asyncpg.Pool, queue_id: str) -> StepCheck | None:
    row = await pool.fetchrow(
        "SELECT cancel_requested, lease_owner FROM analysis.jobs WHERE queue_id = $1", uuid.UUID(queue_id)
    )
    return None if row is None else StepCheck(row["lease_owner"], row["cancel_requested"])


async def acknowledge_cancel(pool: asyncpg.Pool, queue_id: str) -> None:
    await pool.execute(
        "UPDATE analysis.jobs SET status = 'cancelled', lease_owner = NULL WHERE queue_id = $1",
        uuid.UUID(queue_id),
    )


async def record_result_once(conn: asyncpg.Connection, queue_id: str, run: int) -> bool:
    """False when this run's result is already stored (the run was restarted after it committed)."""
    fresh = await conn.fetchval(
        """INSERT INTO analysis.results (queue_id, run) VALUES ($1, $2)
           ON CONFLICT DO NOTHING RETURNING true""",
        uuid.UUID(queue_id),
        run,
    )
    return bool(fresh)


async def mark_completed(
    conn: asyncpg.Connection, queue_id: str, completed_at: datetime, next_run: datetime | None
) -> None:
    await conn.execute(
        """UPDATE analysis.jobs SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL,
                  last_completed_at = $2, next_scheduled_run = $3
           WHERE queue_id = $1""",
        uuid.UUID(queue_id),
        completed_at,
        next_run,
    )


async def mark_failed(conn: asyncpg.Connection, queue_id: str, owner: str) -> None:
    await conn.execute(
        """UPDATE analysis.jobs SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL
           WHERE queue_id = $1 AND lease_owner = $2""",
        uuid.UUID(queue_id),
        owner,
    )


async def stored_transcripts(pool: asyncpg.Pool, shortcodes: list[str]) -> dict[str, str | None]:
    """Transcripts fetched before (None: the reel has no speech), in one query."""
    rows = await pool.fetch(
        "SELECT shortcode, transcript FROM analysis.transcripts WHERE shortcode = ANY($1::text[])",
        shortcodes,
    )
    return {r["shortcode"]: r["transcript"] for r in rows}


async def store_transcript(pool: asyncpg.Pool, shortcode: str, transcript: str | None) -> None:
    await pool.execute(
        """INSERT INTO analysis.transcripts (shortcode, transcript, fetched_at) VALUES ($1, $2, now())
           ON CONFLICT (shortcode) DO UPDATE SET transcript = $2, fetched_at = now()""",
        shortcode,
        transcript,
    )


async def niche_baselines(
    pool: asyncpg.Pool, buckets: list[tuple[str, str, date]]
) -> dict[str, NicheBaseline]:
    """Each reel's niche baseline, where the read model holds one: the reel's category (else its creator's
    primary category) and the median views of that category's reels in the reel's month. The baseline
    aggregates every creator's reels, which only the projector sees, so it is read where it is kept,
    read-only, as the alerts service reads it; a reel never categorised has none."""
    if not buckets:
        return {}
    ids, usernames, months = (list(column) for column in zip(*buckets, strict=True))
    rows = await pool.fetch(
        """SELECT q.content_id, b.category, b.median_views, b.reels
           FROM unnest($1::text[], $2::text[], $3::date[]) AS q(content_id, username, month)
           LEFT JOIN readmodel.content c ON c.content_id = q.content_id
           LEFT JOIN readmodel.primary_profiles p ON p.username = q.username
           JOIN readmodel.niche_baselines b
             ON b.category = coalesce(c.category, p.primary_category) AND b.month = q.month
           WHERE b.median_views > 0""",
        ids,
        usernames,
        months,
    )
    return {r["content_id"]: NicheBaseline(r["category"], r["median_views"], r["reels"]) for r in rows}


async def next_due_rerun(conn: asyncpg.Connection) -> tuple[str, int] | None:
    """A completed job whose re-run time has come (queue_id, last run), locked for this transaction."""
    row = await conn.fetchrow(
        """SELECT queue_id, run FROM analysis.jobs
           WHERE status = 'completed' AND auto_rerun_enabled AND next_scheduled_run <= now()
           ORDER BY next_scheduled_run LIMIT 1 FOR UPDATE SKIP LOCKED"""
    )
    return None if row is None else (str(row["queue_id"]), row["run"])


async def queue_rerun(conn: asyncpg.Connection, queue_id: str, trigger_id: uuid.UUID) -> None:
    """The re-run's events carry its trigger's id as their correlation (a chain of its own)."""
    await conn.execute(
        """UPDATE analysis.jobs SET status = 'pending', trigger = 'schedule',
                  triggered_at = now(), next_scheduled_run = NULL,
                  correlation_id = $2, causation_id = $2
           WHERE queue_id = $1""",
        uuid.UUID(queue_id),
        trigger_id,
    )
