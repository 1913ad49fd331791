"""An analysis job as GET /api/viral-ideas/queue/{session_id} shows it, and as the first frame of its
live stream (job_events) shows it too: read from the read model's summary, with the computed fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from libs.events import EventStore
from libs.events.catalog import analysis_stream
from libs.events.db import FairPool
from services.gateway.domain.analysis_jobs import progress_stage, requested_summary, status_category
from services.gateway.repository import analyses as jobs
from services.gateway.responses import envelope, iso
from services.gateway.status_cache import Entry

OVERDUE = timedelta(minutes=30)


async def read_job_status(pool: FairPool, session_id: str) -> dict[str, Any] | None:
    """The job as the read model shows it; None when it has no row (yet: a job just created appears
    within moments)."""
    found = await jobs.job_status_row(pool, session_id)
    if found is None or found["id"] is None:
        return None
    return describe_job(found, found["competitor_rows"] or [], datetime.now(UTC))


async def read_job(
    pool: FairPool, store: EventStore, session_id: str
) -> tuple[jobs.Session, dict[str, Any] | None, Entry | None] | None:
    """The session (with its owner, for the caller's check) and its job as read_job_status shows it,
    with what the status cache may keep of it (None for a job read from its stream); a job just
    created that the projector has not shown yet answers from its stream (read-your-writes: its creator
    polls it at once). None when the session has no analysis. One round trip when projected."""
    found = await jobs.job_status_row(pool, session_id)
    if found is None:
        return None
    session = jobs.Session(session_id, found["session_queue_id"], found["session_owner_id"])
    if found["id"] is not None:
        competitors = found["competitor_rows"] or []
        status = describe_job(found, competitors, datetime.now(UTC))
        return session, status, job_entry(session, found, competitors, status)
    async with pool.acquire() as conn:
        summary = requested_summary(await store.read_stream(conn, analysis_stream(str(session.queue_id))))
    # The session's row and its AnalysisRequested commit together: None only for a store without it.
    return session, describe_job(*summary, datetime.now(UTC)) if summary is not None else None, None


def job_entry(
    session: jobs.Session, row: Mapping[str, Any], competitors: list[Any], status: dict[str, Any]
) -> Entry | None:
    """A running job's answer changes with the time (is_overdue, estimated_time_remaining): its rows are
    kept and described per request; any other job's answer is kept encoded."""
    if row["projected_version"] is None:
        return None
    stream = analysis_stream(str(session.queue_id))
    parts: dict[str, Any] = {"owner_id": session.owner_id}
    if row["status"] == "processing":
        return Entry(stream, row["projected_version"], parts=parts | {"row": row, "competitors": competitors})
    return Entry(stream, row["projected_version"], body=envelope(status), parts=parts)


def job_answer(entry: Entry) -> bytes:
    if entry.body is not None:
        return entry.body
    return envelope(describe_job(entry.parts["row"], entry.parts["competitors"], datetime.now(UTC)))


def describe_job(row: Mapping[str, Any], competitors: list[Any], now: datetime) -> dict[str, Any]:
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
