"""Viral ideas reads: job status by session, queue statistics, existing analyses, results, content."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web

from libs.events.topology import message_count
from services.gateway import keys
from services.gateway.analyses import parse_queue_id
from services.gateway.domain.analysis_jobs import progress_stage, status_category
from services.gateway.errors import ApiError
from services.gateway.profiles import iso, jsonable, ok
from services.gateway.validation import normalise_username, query_int

routes = web.RouteTableDef()
OVERDUE = timedelta(minutes=30)


# The job and its competitors in one round trip (records: username, status, method, added, error).
_JOB_STATUS = """
SELECT s.*, c.competitor_rows FROM readmodel.viral_queue_summary s
LEFT JOIN LATERAL (
    SELECT array_agg((competitor_username, processing_status, selection_method, added_at, error_message)
                     ORDER BY position) AS competitor_rows
    FROM readmodel.viral_ideas_competitors WHERE queue_id = s.id AND is_active
) c ON true
WHERE s.session_id = $1"""


@routes.get("/api/viral-ideas/queue/{session_id}")
async def job_status(request: web.Request) -> web.Response:
    session_id = request.match_info["session_id"]
    if not session_id.strip() or len(session_id) > 255:
        raise ApiError(400, "INVALID_SESSION_ID", "session_id must be 1-255 characters and not blank.")
    row = await request.app[keys.POOL].fetchrow(_JOB_STATUS, session_id)
    if row is None:
        raise ApiError(
            404,
            "QUEUE_NOT_FOUND",
            "Queue entry not found",
            troubleshooting="The session has no analysis yet; a job just created appears within moments.",
        )
    competitors = row["competitor_rows"] or []
    return ok(describe_job(row, competitors, datetime.now(UTC)))


def describe_job(row: asyncpg.Record, competitors: list[Any], now: datetime) -> dict[str, Any]:
    """Seed 001's response: the stored fields plus the computed ones of its Nest.js version."""
    status, progress = row["status"], row["progress_percentage"]
    started, completed = row["started_processing_at"], row["completed_at"]
    duration = round((completed - started).total_seconds() / 60) if started and completed else None
    remaining = None
    if status == "processing" and started and progress > 0:
        elapsed = (now - started).total_seconds() / 60
        remaining = max(0, round(elapsed / (progress / 100) - elapsed))
    return {
        "id": str(row["id"]),
        "session_id": row["session_id"],
        "primary_username": row["primary_username"],
        "status": status,
        "priority": row["priority"],
        "progress_percentage": progress,
        "current_step": row["current_step"],
        "error_message": row["error_message"],
        "content_type": row["content_type"] or "",
        "target_audience": row["target_audience"] or "",
        "main_goals": row["main_goals"] or "",
        "full_content_strategy": row["full_content_strategy"] or {},
        "analysis_settings": row["analysis_settings"] or {},
        "competitors": [c[0] for c in competitors],
        "competitor_details": [
            {
                "username": username,
                "processing_status": processing_status,
                "selection_method": selection_method,
                "added_at": iso(added_at),
                "error_message": error_message,
            }
            for username, processing_status, selection_method, added_at, error_message in competitors
        ],
        "active_competitors_count": row["active_competitors_count"],
        "total_competitors_count": row["total_competitors_count"],
        "submitted_at": iso(row["submitted_at"]),
        "started_processing_at": iso(started),
        "completed_at": iso(completed),
        "auto_rerun_enabled": row["auto_rerun_enabled"],
        "rerun_frequency_hours": row["rerun_frequency_hours"],
        "total_runs": row["total_runs"],
        "last_analysis_at": iso(row["last_analysis_at"]),
        "next_scheduled_run": iso(row["next_scheduled_run"]),
        "processing_duration": duration,
        "is_overdue": status == "processing" and started is not None and now - started > OVERDUE,
        "estimated_time_remaining": remaining,
        "can_be_cancelled": status in ("pending", "processing"),
        "can_be_rerun": status in ("completed", "failed", "cancelled"),
        "status_category": status_category(status),
        "progress_stage": progress_stage(progress),
    }


@routes.get("/api/viral-ideas/queue-status")
async def queue_status(request: web.Request) -> web.Response:
    async with request.app[keys.POOL].acquire() as conn:
        counts = {
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
        profiles = {
            (r["status"], r["priority"]): r["n"]
            for r in await conn.fetch(
                "SELECT status, priority, count(*) AS n FROM readmodel.profile_queue GROUP BY status, priority"
            )
        }
    avg = round(float(finished["avg_minutes"] or 0), 2)
    statuses = ("pending", "processing", "completed", "failed", "cancelled")
    return ok(
        {
            "statistics": {**{s: counts.get(s, 0) for s in statuses}, "total": sum(counts.values())},
            "recent_items": [jsonable(r) | {"id": str(r["id"])} for r in recent],
            "background_processing": {
                "current_processing_jobs": len(processing),
                "completed_last_24h": finished["n"],
                "average_processing_time_minutes": avg,
                "processing_performance": {
                    "efficiency_rating": "excellent"
                    if avg < 8
                    else "good"
                    if avg < 15
                    else "needs_optimization",
                    "concurrent_capacity": "jobs run in parallel across viral-analysis workers",
                    "resource_usage": "leased runs, restarted when a worker dies",
                },
                "active_processing_details": [
                    {
                        "queue_id": str(r["id"]),
                        "username": r["primary_username"],
                        "current_step": r["current_step"] or "queued",
                        "progress": r["progress_percentage"],
                    }
                    for r in processing
                ],
            },
            "profile_queue": {
                "pending_by_priority": {
                    p: profiles.get(("PENDING", p), 0) for p in ("HIGH", "MEDIUM", "LOW")
                },
                "processing": sum(n for (s, _), n in profiles.items() if s == "PROCESSING"),
                "failed": sum(n for (s, _), n in profiles.items() if s == "FAILED"),
                "dead_lettered": await _dead_lettered(request),
            },
        }
    )


async def _dead_lettered(request: web.Request) -> int | None:
    """Messages parked in the dead-letter queues (None when the broker cannot be asked right now)."""
    runtime = request.app[keys.RUNTIME]
    if runtime.amqp is None or runtime.amqp.is_closed:
        return None
    try:
        channel = await runtime.amqp.channel()
        try:
            total = 0
            for consumer in runtime.topology.subscriptions:
                total += await message_count(channel, runtime.topology.dead_letter_queue(consumer))
            return total
        finally:
            await channel.close()
    except (TimeoutError, Exception):
        return None


@routes.get("/api/viral-ideas/check-existing/{username}")
async def check_existing(request: web.Request) -> web.Response:
    username = normalise_username(request.match_info["username"])
    async with request.app[keys.POOL].acquire() as conn:
        row = await conn.fetchrow(
            """SELECT q.id, q.session_id, q.status, r.analysis_run, r.analysis_completed_at
               FROM readmodel.viral_analysis_results r JOIN readmodel.viral_ideas_queue q ON q.id = r.queue_id
               WHERE q.primary_username = $1 ORDER BY r.analysis_completed_at DESC LIMIT 1""",
            username,
        )
        if row is not None:
            return ok(
                {
                    "exists": True,
                    "kind": "completed",
                    "queue_id": str(row["id"]),
                    "session_id": row["session_id"],
                    "status": row["status"],
                    "run": row["analysis_run"],
                    "completed_at": iso(row["analysis_completed_at"]),
                }
            )
        active = await conn.fetchrow(
            """SELECT id, session_id, status, progress_percentage, current_step FROM readmodel.viral_ideas_queue
               WHERE primary_username = $1 AND status IN ('pending', 'processing')
               ORDER BY submitted_at DESC LIMIT 1""",
            username,
        )
    if active is None:
        raise ApiError(404, "ANALYSIS_NOT_FOUND", f"No analysis exists for {username}.")
    return ok(
        {
            "exists": True,
            "kind": "active",
            "queue_id": str(active["id"]),
            "session_id": active["session_id"],
            "status": active["status"],
            "progress_percentage": active["progress_percentage"],
            "current_step": active["current_step"],
        }
    )


@routes.get("/api/viral-analysis/{queue_id}/results")
async def results(request: web.Request) -> web.Response:
    queue_id = parse_queue_id(request.match_info["queue_id"])
    run = query_int(request, "run", 0, 1, 100_000) if "run" in request.query else None
    async with request.app[keys.POOL].acquire() as conn:
        row = await conn.fetchrow(
            """SELECT r.*, q.primary_username FROM readmodel.viral_analysis_results r
               JOIN readmodel.viral_ideas_queue q ON q.id = r.queue_id
               WHERE r.queue_id = $1 AND ($2::int IS NULL OR r.analysis_run = $2)
               ORDER BY r.analysis_run DESC LIMIT 1""",
            queue_id,
            run,
        )
        if row is None:
            raise ApiError(
                404,
                "RESULTS_NOT_FOUND",
                "No finished analysis run for this queue entry" + (f" (run {run})." if run else "."),
            )
        profile = await conn.fetchrow(
            "SELECT * FROM readmodel.primary_profiles WHERE username = $1", row["primary_username"]
        )
        reels = await conn.fetch(
            """SELECT * FROM readmodel.viral_analysis_reels WHERE queue_id = $1 AND analysis_run = $2
               ORDER BY rank""",
            queue_id,
            row["analysis_run"],
        )
    data = row["analysis_data"]
    scripts = data.get("complete_scripts", [])
    return ok(
        {
            "analysis": {
                "id": queue_id,
                "run": row["analysis_run"],
                "status": row["status"],
                "analysis_type": row["analysis_type"],
                "workflow_version": row["workflow_version"],
                "started_at": iso(row["started_at"]),
                "completed_at": iso(row["analysis_completed_at"]),
                "processing_time_seconds": row["processing_time_seconds"],
                "total_reels_analyzed": row["total_reels_analyzed"],
                "primary_reels_count": row["primary_reels_count"],
                "competitor_reels_count": row["competitor_reels_count"],
                "transcripts_fetched": row["transcripts_fetched"],
            },
            "primary_profile": jsonable(profile) if profile is not None else None,
            "analyzed_reels": [_reel(r) for r in reels],
            "analysis_data": data,
            **{
                section: data.get(section)
                for section in (
                    "profile_analysis",
                    "individual_reel_analyses",
                    "generated_hooks",
                    "complete_scripts",
                    "scripts_summary",
                    "analysis_summary",
                )
            },
            "viral_ideas": [
                {"hook": hook, "script": scripts[i] if i < len(scripts) else None}
                for i, hook in enumerate(data.get("generated_hooks", []))
            ],
        }
    )


def _reel(row: asyncpg.Record) -> dict[str, Any]:
    reel = jsonable(row)
    reel.pop("queue_id", None)
    reel["transcript_available"] = bool(row["transcript"])
    return reel


@routes.get("/api/viral-analysis/{queue_id}/content")
async def content(request: web.Request) -> web.Response:
    queue_id = parse_queue_id(request.match_info["queue_id"])
    content_type = request.query.get("content_type", "all")
    if content_type not in ("all", "primary", "competitor"):
        raise ApiError(400, "INVALID_PARAMETER", "content_type must be one of all, primary, competitor.")
    limit = query_int(request, "limit", 50, 1, 200)
    offset = query_int(request, "offset", 0, 0, 100_000)
    async with request.app[keys.POOL].acquire() as conn:
        run = await conn.fetchval(
            "SELECT max(analysis_run) FROM readmodel.viral_analysis_reels WHERE queue_id = $1", queue_id
        )
        if run is None:
            raise ApiError(404, "CONTENT_NOT_FOUND", "No analysed content for this queue entry yet.")
        rows = await conn.fetch(
            """SELECT *, count(*) OVER () AS total FROM readmodel.viral_analysis_reels
               WHERE queue_id = $1 AND analysis_run = $2 AND ($3 = 'all' OR reel_type = $3)
               ORDER BY outlier_score DESC, rank LIMIT $4 OFFSET $5""",
            queue_id,
            run,
            content_type,
            limit,
            offset,
        )
    total = rows[0]["total"] if rows else 0
    items = [{k: v for k, v in _reel(r).items() if k != "total"} for r in rows]
    return ok(
        {
            "queue_id": queue_id,
            "run": run,
            "content_type": content_type,
            "content": items,
            "total": total,
            "limit": limit,
            "offset": offset,
            "has_more": offset + len(items) < total,
            "pages": math.ceil(total / limit) if total else 0,
        }
    )
