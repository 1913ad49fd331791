"""Viral ideas results: a finished run's analysis, the reels it analysed, page by page, and every run's
outcome. Only for whoever may see the job (analyses.visible_session)."""

from __future__ import annotations

import math
from typing import Any

import asyncpg
from aiohttp import web

from services.gateway import exports, keys, repository
from services.gateway.analysis_access import visible_session
from services.gateway.errors import ApiError
from services.gateway.repository import analyses as jobs
from services.gateway.responses import iso, jsonable, ok
from services.gateway.validation import parse_queue_id, query_int


async def results(request: web.Request) -> web.Response:
    queue_id = parse_queue_id(request.match_info["queue_id"])
    run = query_int(request, "run", 0, 1, 100_000) if "run" in request.query else None
    async with request.app[keys.POOL].acquire() as conn:
        await visible_session(conn, request, queue_id)
        row = await jobs.analysis_result(conn, queue_id, run)
        if row is None:
            raise ApiError(
                404,
                "RESULTS_NOT_FOUND",
                "No finished analysis run for this queue entry" + (f" (run {run})." if run else "."),
            )
        profile = await repository.primary_profile_record(conn, row["primary_username"])
        reels = await jobs.analysed_reels(conn, queue_id, row["analysis_run"])
    data = row["analysis_data"]
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
            **analysis_sections(data),
        }
    )


def analysis_sections(data: dict[str, Any]) -> dict[str, Any]:
    """The stored analysis_data, and its sections at the top level in the shape a frontend written for
    the original reads (scripts_summary a list, viral_ideas with their own fields), also for old runs."""
    return {
        "analysis_data": data,
        **{section: data.get(section) for section in SECTIONS},
        "scripts_summary": scripts_summary(data),
        "scripts_overview": data.get("scripts_overview") or _old_overview(data),
        "viral_ideas": viral_ideas(data),
    }


SECTIONS = (
    "profile_analysis",
    "individual_reel_analyses",
    "generated_hooks",
    "complete_scripts",
    "analysis_summary",
)


def scripts_summary(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The original's list; a run stored before it had this shape kept an object here (now
    scripts_overview), and its list is rebuilt from the scripts."""
    stored = data.get("scripts_summary")
    if isinstance(stored, list):
        return stored
    hooks, scripts = data.get("generated_hooks", []), data.get("complete_scripts", [])
    return [
        {
            "script_number": i + 1,
            "hook": script.get("hook"),
            "hook_type": hooks[i].get("hook_type") if i < len(hooks) else None,
            "target_topic": hooks[i].get("target_topic") if i < len(hooks) else None,
            "estimated_duration_seconds": script.get("estimated_duration_seconds"),
            "word_count": script.get("word_count"),
        }
        for i, script in enumerate(scripts)
    ]


def _old_overview(data: dict[str, Any]) -> dict[str, Any] | None:
    stored = data.get("scripts_summary")
    return stored if isinstance(stored, dict) else None


def viral_ideas(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each idea (id, idea_text, explanation, confidence_score, power_words) with its hook and script, as
    before; a run stored before ideas had their own section gives the hook and script alone."""
    hooks, scripts = data.get("generated_hooks", []), data.get("complete_scripts", [])
    ideas = data.get("viral_ideas") or [{} for _ in hooks]
    return [
        {**idea, "hook": hook, "script": scripts[i] if i < len(scripts) else None}
        for i, (idea, hook) in enumerate(zip(ideas, hooks, strict=False))
    ]


async def export(request: web.Request) -> web.Response:
    """A finished run's hooks and scripts as CSV or Markdown (the JSON is the results endpoint)."""
    queue_id = parse_queue_id(request.match_info["queue_id"])
    fmt = request.query.get("format", "csv")
    if fmt not in ("csv", "md"):
        raise ApiError(400, "INVALID_FORMAT", "format must be csv or md.")
    run = query_int(request, "run", 0, 1, 100_000) if "run" in request.query else None
    async with request.app[keys.POOL].acquire() as conn:
        await visible_session(conn, request, queue_id)
        row = await jobs.analysis_result(conn, queue_id, run)
    if row is None:
        raise ApiError(404, "RESULTS_NOT_FOUND", "No finished analysis run for this queue entry.")
    rows, user, number = exports.ideas(row["analysis_data"]), row["primary_username"], row["analysis_run"]
    text = (
        exports.ideas_csv(rows)
        if fmt == "csv"
        else exports.ideas_markdown(f"Hooks and scripts for @{user}, run {number}", rows)
    )
    return exports.download(text, fmt, exports.filename(f"{user}-run-{number}", "ideas", fmt))


def _reel(row: asyncpg.Record) -> dict[str, Any]:
    reel = jsonable(row)
    reel.pop("queue_id", None)
    reel["transcript_available"] = bool(row["transcript"])
    return reel


async def content(request: web.Request) -> web.Response:
    queue_id = parse_queue_id(request.match_info["queue_id"])
    content_type = request.query.get("content_type", "all")
    if content_type not in ("all", "primary", "competitor"):
        raise ApiError(400, "INVALID_PARAMETER", "content_type must be one of all, primary, competitor.")
    limit = query_int(request, "limit", 50, 1, 200)
    offset = query_int(request, "offset", 0, 0, 100_000)
    async with request.app[keys.POOL].acquire() as conn:
        await visible_session(conn, request, queue_id)
        run = await jobs.latest_analysed_run(conn, queue_id)
        if run is None:
            raise ApiError(404, "CONTENT_NOT_FOUND", "No analysed content for this queue entry yet.")
        rows = await jobs.analysed_content(conn, queue_id, run, content_type, limit, offset)
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


async def runs(request: web.Request) -> web.Response:
    """Every run of the job, the latest first: its trigger, who asked, its outcome and timings."""
    queue_id = parse_queue_id(request.match_info["queue_id"])
    limit = query_int(request, "limit", 50, 1, 200)
    offset = query_int(request, "offset", 0, 0, 100_000)
    async with request.app[keys.POOL].acquire() as conn:
        await visible_session(conn, request, queue_id)
        rows = await jobs.analysis_runs(conn, queue_id, limit, offset)
    total = rows[0]["total"] if rows else 0
    return ok(
        {
            "queue_id": queue_id,
            "runs": [
                {
                    "run": r["run"],
                    "trigger": r["trigger"],
                    "outcome": r["outcome"],
                    "requested_by": r["requested_by"],
                    "requested_at": iso(r["requested_at"]),
                    "started_at": iso(r["started_at"]),
                    "finished_at": iso(r["finished_at"]),
                    "processing_time_seconds": r["processing_time_seconds"],
                    "error_message": r["error_message"],
                }
                for r in rows
            ],
            "total": total,
            "limit": limit,
            "offset": offset,
            "has_more": offset + len(rows) < total,
        }
    )
