"""viral_ideas_queue, viral_ideas_competitors, viral_analysis_results/_reels and viral_scripts."""

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
               rerun_frequency_hours, updated_at)
           VALUES ($1, $2, $3, 'pending', $4, 0, 'queued', $5, $6, $7, $8, $9, $7)
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
    )
    await conn.executemany(
        """INSERT INTO viral_ideas_competitors (queue_id, competitor_username, added_at, position)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
        [(p["queue_id"], name, e.occurred_at, i) for i, name in enumerate(p.get("competitors", []))],
    )


async def analysis_triggered(conn: asyncpg.Connection, e: Envelope) -> None:
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
