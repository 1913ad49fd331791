"""Viral ideas reads: job status by session, queue statistics, existing analyses."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from libs.events.topology import message_count
from services.gateway import keys
from services.gateway.analysis_status import job_answer, read_job
from services.gateway.errors import ApiError
from services.gateway.identity import Caller, caller, may_see
from services.gateway.repository import analyses as jobs
from services.gateway.responses import iso, jsonable, ok, ok_body
from services.gateway.status_cache import STATUS_CACHE
from services.gateway.validation import normalise_username, parse_session_id


async def job_status(request: web.Request) -> web.Response:
    session_id = parse_session_id(request.match_info["session_id"])
    pool = request.app[keys.POOL]
    who = await caller(request)  # a token sent is judged first, whatever the session
    cache = request.app[STATUS_CACHE]
    entry = await cache.current("job", session_id) if cache.enabled else None
    if entry is not None:
        # Kept with its owner: an answer kept for one caller goes to another only if they may see it too.
        if not may_see(who, entry.parts["owner_id"]):
            raise _job_not_found()
        return ok_body(job_answer(entry))
    found = await read_job(pool, request.app[keys.STORE], session_id)
    if found is not None and found[2] is not None:
        cache.keep("job", session_id, found[2])
    # Another user's job is not found, exactly as no job (the status is read with the owner: one trip).
    status = found[1] if found is not None and may_see(who, found[0].owner_id) else None
    if status is None:
        raise _job_not_found()
    return ok(status)


def _job_not_found() -> ApiError:
    return ApiError(
        404,
        "QUEUE_NOT_FOUND",
        "Queue entry not found",
        troubleshooting="No analysis has this session id.",
    )


def scope_of(who: Caller) -> jobs.JobScope:
    return jobs.JobScope(everyone=who.admin, owner_id=who.user_id)


async def queue_status(request: web.Request) -> web.Response:
    """Everyone's counts; the recent and the processing jobs listed are the caller's own (an
    administrator's: all; an anonymous caller's: none)."""
    who = await caller(request)
    async with request.app[keys.POOL].acquire() as conn:
        stats = await jobs.queue_statistics(conn, scope_of(who))
    counts, profiles = stats.analyses, stats.profile_requests
    avg = round(float(stats.finished_last_24h["avg_minutes"] or 0), 2)
    statuses = ("pending", "processing", "completed", "failed", "cancelled")
    return ok(
        {
            "statistics": {**{s: counts.get(s, 0) for s in statuses}, "total": sum(counts.values())},
            "recent_items": [jsonable(r) | {"id": str(r["id"])} for r in stats.recent],
            "background_processing": {
                "current_processing_jobs": counts.get("processing", 0),
                "completed_last_24h": stats.finished_last_24h["n"],
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
                    for r in stats.processing
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


async def check_existing(request: web.Request) -> web.Response:
    """The caller's own analysis of this profile (an administrator's: anyone's). An anonymous caller
    learns whether an anonymous one exists, without its ids: those are its creator's alone."""
    username = normalise_username(request.match_info["username"])
    who = await caller(request)
    scope = scope_of(who)
    async with request.app[keys.POOL].acquire() as conn:
        row = await jobs.latest_finished_analysis(conn, username, scope)
        active = None if row is not None else await jobs.active_analysis(conn, username, scope)
    job = row if row is not None else active
    if job is None:
        raise ApiError(404, "ANALYSIS_NOT_FOUND", f"No analysis exists for {username}.")
    kind = "completed" if row is not None else "active"
    # The original's fields (analysis_type is its name for kind), then what this API adds.
    found: dict[str, Any] = {
        "exists": True,
        "id": str(job["id"]),
        "session_id": job["session_id"],
        "primary_username": job["primary_username"],
        "status": job["status"],
        "progress_percentage": job["progress_percentage"],
        "submitted_at": iso(job["submitted_at"]),
        "started_at": iso(job["started_processing_at"]),
        "completed_at": iso(job["completed_at"]),
        "error_message": job["error_message"],
        "analysis_type": kind,
        "kind": kind,
        "queue_id": str(job["id"]),
        "current_step": job["current_step"],
    }
    if row is not None:
        found |= {"run": row["analysis_run"], "run_completed_at": iso(row["analysis_completed_at"])}
    if scope.nobody:
        del found["id"], found["queue_id"], found["session_id"]
    return ok(found)
