"""viral_ideas_queue, viral_ideas_competitors, viral_analysis_runs, viral_analysis_results/_reels and
viral_scripts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from libs.events.envelope import Envelope
from services.projector.profile_tables import upsert_profile, upsert_reels


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def analysis_requested(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """INSERT INTO viral_ideas_queue (id, session_id, primary_username, status, priority, progress_percentage,
               current_step, content_strategy, analysis_settings, submitted_at, auto_rerun_enabled,
               rerun_frequency_hours, updated_at, owner_id)
           VALUES ($1, $2, $3, 'pending', $4, 0, 'queued', $5, $6, $7, $8, $9, $7, $10)
           ON CONFLICT (id) DO NOTHING""",
        p["queue_id"],
        p["session_id"],
        p["primary_username"],
        p["priority"],
        p["content_strategy"],
        p.get("analysis_settings") or {},
        e.occurred_at,
        p["auto_rerun_enabled"],
        p["rerun_frequency_hours"],
        p.get("user_id"),
    )
    await _put_competitors(conn, p["queue_id"], p.get("competitors", []), e.occurred_at)
    await _run_requested(conn, p["queue_id"], 1, "initial", p.get("user_id"), e.occurred_at)


async def _put_competitors(
    conn: asyncpg.Connection, queue_id: str, competitors: list[dict[str, Any]], at: datetime
) -> None:
    """Those already there keep their status and take the position and selection method given now."""
    await conn.executemany(
        """INSERT INTO viral_ideas_competitors (queue_id, competitor_username, selection_method, added_at, position)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (queue_id, competitor_username)
           DO UPDATE SET position = excluded.position, selection_method = excluded.selection_method""",
        [(queue_id, c["username"], c["selection_method"], at, i) for i, c in enumerate(competitors)],
    )


async def _run_requested(
    conn: asyncpg.Connection, queue_id: str, run: int, trigger: str, user_id: str | None, at: datetime
) -> None:
    # Run numbers are those of runs that start (viral-analysis counts claims): a run not started yet
    # (queued, or cancelled before it started) asked for again is the same run, now by this trigger.
    await conn.execute(
        """INSERT INTO viral_analysis_runs AS r (queue_id, run, trigger, outcome, requested_by, requested_at)
           VALUES ($1, $2, $3, 'queued', $4, $5)
           ON CONFLICT (queue_id, run) DO UPDATE
               SET trigger = excluded.trigger, outcome = 'queued', requested_by = excluded.requested_by,
                   requested_at = excluded.requested_at, finished_at = NULL, error_message = NULL
               WHERE r.started_at IS NULL""",
        queue_id,
        run,
        trigger,
        user_id,
        at,
    )


async def analysis_updated(conn: asyncpg.Connection, e: Envelope) -> None:
    """The owner's changes; the schedule follows them as viral-analysis's does (repository.update_job)."""
    p = e.payload
    auto, hours = p.get("auto_rerun_enabled"), p.get("rerun_frequency_hours")
    await conn.execute(
        """UPDATE viral_ideas_queue
              SET content_strategy = coalesce($2::jsonb, content_strategy),
                  auto_rerun_enabled = coalesce($3, auto_rerun_enabled),
                  rerun_frequency_hours = coalesce($4, rerun_frequency_hours),
                  next_scheduled_run = CASE
                      WHEN $3 IS NULL AND $4::int IS NULL THEN next_scheduled_run
                      WHEN NOT coalesce($3, auto_rerun_enabled) THEN NULL
                      WHEN status = 'completed' AND last_analysis_at IS NOT NULL
                          THEN last_analysis_at + make_interval(hours => coalesce($4::int, rerun_frequency_hours))
                      ELSE next_scheduled_run END,
                  updated_at = $5
           WHERE id = $1""",
        p["queue_id"],
        p.get("content_strategy"),
        auto,
        hours,
        e.occurred_at,
    )
    competitors = p.get("competitors")
    if competitors is None:
        return
    # The new list replaces the old: those dropped go, those kept keep their status, new ones are pending.
    await conn.execute(
        """DELETE FROM viral_ideas_competitors WHERE queue_id = $1 AND NOT competitor_username = ANY($2::text[])""",
        p["queue_id"],
        [c["username"] for c in competitors],
    )
    await _put_competitors(conn, p["queue_id"], competitors, e.occurred_at)


async def analysis_triggered(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await _run_requested(conn, p["queue_id"], p["run"], p["trigger"], p.get("user_id"), e.occurred_at)
    await conn.execute(
        """UPDATE viral_ideas_queue SET status = 'pending', progress_percentage = 0, current_step = 'queued',
                  error_message = NULL, updated_at = $2
           WHERE id = $1 AND status <> 'processing'""",
        e.payload["queue_id"],
        e.occurred_at,
    )


async def analysis_cancelled(conn: asyncpg.Connection, e: Envelope) -> None:
    await conn.execute(
        """UPDATE viral_ideas_queue SET status = 'cancelled', current_step = 'cancelled', updated_at = $2
           WHERE id = $1 AND status IN ('pending', 'processing')""",
        e.payload["queue_id"],
        e.occurred_at,
    )
    await conn.execute(
        """UPDATE viral_analysis_runs SET outcome = 'cancelled', finished_at = $2
           WHERE queue_id = $1 AND outcome IN ('queued', 'running', 'retrying')""",
        e.payload["queue_id"],
        e.occurred_at,
    )


async def analysis_started(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """UPDATE viral_ideas_queue SET status = 'processing', started_processing_at = $2, completed_at = NULL,
                  progress_percentage = 0, current_step = 'queued', error_message = NULL, current_run = $3,
                  total_runs = greatest(total_runs, $3), updated_at = $2
           WHERE id = $1 AND status <> 'cancelled'""",
        p["queue_id"],
        e.occurred_at,
        p["run"],
    )
    await conn.execute(
        """UPDATE viral_ideas_competitors SET processing_status = 'pending', error_message = NULL
           WHERE queue_id = $1""",
        p["queue_id"],
    )
    # A run restarted after its worker died keeps its first start; a cancelled run stays cancelled.
    await conn.execute(
        """INSERT INTO viral_analysis_runs AS r (queue_id, run, trigger, outcome, requested_at, started_at)
           VALUES ($1, $2, 'initial', 'running', $3, $3)
           ON CONFLICT (queue_id, run) DO UPDATE
               SET outcome = 'running', started_at = coalesce(r.started_at, excluded.started_at)
               WHERE r.outcome <> 'cancelled'""",
        p["queue_id"],
        p["run"],
        e.occurred_at,
    )


async def progress_updated(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """UPDATE viral_ideas_queue SET progress_percentage = $3, current_step = $4, updated_at = $5
           WHERE id = $1 AND current_run = $2 AND status = 'processing'""",
        p["queue_id"],
        p["run"],
        p["progress"],
        p["step"],
        e.occurred_at,
    )


async def competitor_status_changed(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """UPDATE viral_ideas_competitors SET processing_status = $3, error_message = $4
           WHERE queue_id = $1 AND competitor_username = $2""",
        p["queue_id"],
        p["username"],
        p["status"],
        p.get("error_message"),
    )


async def content_fetched(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    if p.get("profile"):
        await upsert_profile(conn, p["profile"], e.occurred_at)
    await upsert_reels(conn, p["username"], p.get("reels", []), e.occurred_at)


async def analysis_completed(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    r: dict[str, Any] = p["result"]
    queue_id, run = p["queue_id"], p["run"]
    await conn.execute(
        """UPDATE viral_ideas_queue SET status = 'completed', progress_percentage = 100, current_step = 'completed',
                  completed_at = $2, last_analysis_at = $2, next_scheduled_run = $3, error_message = NULL,
                  updated_at = $2
           WHERE id = $1""",
        queue_id,
        e.occurred_at,
        _ts(p.get("next_scheduled_run")),
    )
    await conn.execute(
        """UPDATE viral_analysis_runs SET outcome = 'completed', finished_at = $3, processing_time_seconds = $4,
                  error_message = NULL
           WHERE queue_id = $1 AND run = $2""",
        queue_id,
        run,
        _ts(r["completed_at"]),
        r["processing_time_seconds"],
    )
    reels = r.get("analyzed_reels", [])
    await conn.execute(
        """INSERT INTO viral_analysis_results (queue_id, analysis_run, analysis_type, status, workflow_version,
               total_reels_analyzed, primary_reels_count, competitor_reels_count, transcripts_fetched,
               analysis_data, started_at, analysis_completed_at, processing_time_seconds)
           VALUES ($1, $2, $3, 'completed', $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (queue_id, analysis_run) DO NOTHING""",
        queue_id,
        run,
        r["analysis_type"],
        r["workflow_version"],
        len(reels),
        r["primary_reels_count"],
        r["competitor_reels_count"],
        r["transcripts_fetched"],
        r["analysis_data"],
        _ts(r["started_at"]),
        _ts(r["completed_at"]),
        r["processing_time_seconds"],
    )
    await conn.executemany(
        """INSERT INTO viral_analysis_reels (queue_id, analysis_run, content_id, username, reel_type, rank,
               shortcode, url, description, view_count, like_count, comment_count, outlier_score, date_posted,
               transcript)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING""",
        [
            (
                queue_id,
                run,
                x["content_id"],
                x["username"],
                x["reel_type"],
                rank,
                x["shortcode"],
                x["url"],
                x.get("description"),
                x.get("view_count"),
                x.get("like_count", 0),
                x.get("comment_count", 0),
                x.get("outlier_score", 0),
                _ts(x.get("date_posted")),
                x.get("transcript"),
            )
            for rank, x in enumerate(reels, start=1)
        ],
    )
    await conn.executemany(
        """UPDATE content SET transcript = $2, transcript_available = true WHERE content_id = $1""",
        [(x["content_id"], x["transcript"]) for x in reels if x.get("transcript")],
    )
    scripts = r.get("analysis_data", {}).get("complete_scripts", [])
    await conn.executemany(
        """INSERT INTO viral_scripts (queue_id, analysis_run, script_index, hook, script)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
        [(queue_id, run, i, str(s.get("hook", "")), s) for i, s in enumerate(scripts, start=1)],
    )


async def analysis_failed(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """UPDATE viral_ideas_queue SET status = 'failed', error_message = $3, completed_at = $4, updated_at = $4
           WHERE id = $1 AND current_run = $2""",
        p["queue_id"],
        p["run"],
        p["error_message"],
        e.occurred_at,
    )
    # A failure viral-analysis will retry leaves the run open: its next start makes it running again.
    retrying = bool(p.get("will_retry"))
    await conn.execute(
        """UPDATE viral_analysis_runs SET outcome = $3, error_message = $4,
                  finished_at = CASE WHEN $5 THEN NULL ELSE $6::timestamptz END
           WHERE queue_id = $1 AND run = $2 AND outcome <> 'cancelled'""",
        p["queue_id"],
        p["run"],
        "retrying" if retrying else "failed",
        p["error_message"],
        retrying,
        e.occurred_at,
    )
