"""Viral ideas analysis commands: create, start, re-run, change, cancel; process and process-pending
(admin).

The commands are decided on the job's event stream (domain/analysis_jobs.py) and appended at the
version read; answers never come from a projection. A job belongs to the user whose token created it
(identity.may_see): to anyone else every command on it answers 404 QUEUE_NOT_FOUND."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import structlog
from aiohttp import web

from libs.events import NewEvent
from libs.events.catalog import AnalysisRequested, analysis_stream
from libs.events.db import is_transient_database_error
from services.gateway import keys, limits
from services.gateway.analysis_access import (
    append_decided,
    check_running_cap,
    decide_and_append,
    load_job,
    visible_session,
)
from services.gateway.analysis_bodies import JobUpdate, QueueRequest, competitors
from services.gateway.auth import require_admin
from services.gateway.domain.analysis_jobs import (
    AlreadyProcessing,
    AlreadyQueued,
    JobChanges,
    MissingRequirements,
    NotCancellable,
    NotPending,
    apply_update,
    decide_cancel,
    decide_manual_run,
    decide_pending_run,
    decide_rerun,
    decide_update,
)
from services.gateway.errors import ApiError
from services.gateway.idempotency import answer_once
from services.gateway.identity import caller
from services.gateway.process_answer import (
    INITIATION_FAILED_HELP,
    MISSING_REQUIREMENTS_HELP,
    PROCESS_NOT_FOUND_HELP,
    processing_started,
)
from services.gateway.repository import analyses as jobs
from services.gateway.responses import ok
from services.gateway.validation import parse_body, parse_queue_id

log = structlog.get_logger(__name__)


async def create_job(request: web.Request) -> web.Response:
    body = await parse_body(request, QueueRequest)
    who = await caller(request)
    queue_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    requested = AnalysisRequested(
        queue_id=queue_id,
        session_id=body.session_id,
        primary_username=body.primary_username,
        competitors=competitors(body.selected_competitors),
        content_strategy=body.content_strategy,
        analysis_settings=body.analysis_settings,
        priority=body.priority,
        auto_rerun_enabled=body.auto_rerun_enabled,
        rerun_frequency_hours=body.rerun_frequency_hours,
        user_id=who.user_id,
    )

    async def create(conn: asyncpg.Connection) -> web.Response:
        # On the request's connection, in the idempotent transaction: a replay costs no token.
        await limits.take(request, "analyses", conn)
        try:
            async with conn.transaction():
                await check_running_cap(conn, request, who)
                await jobs.insert_analysis_session(conn, body.session_id, uuid.UUID(queue_id), who.user_id)
                await request.app[keys.STORE].append(
                    conn,
                    analysis_stream(queue_id),
                    [NewEvent(event=requested, occurred_at=now)],
                    expected_version=0,
                )
        except asyncpg.UniqueViolationError:
            raise ApiError(
                409,
                "SESSION_EXISTS",
                f"An analysis for session '{body.session_id}' already exists.",
                troubleshooting="Use a new session_id, or poll the existing one.",
            ) from None
        return ok(
            {
                "id": queue_id,
                "session_id": body.session_id,
                "primary_username": body.primary_username,
                "status": "pending",
                "submitted_at": now.isoformat(),
            },
            status=201,
        )

    return await answer_once(request, create)


async def start_job(request: web.Request) -> web.Response:
    """Jobs are processed automatically once queued; starting one is idempotent and appends nothing."""
    queue_id = parse_queue_id(request.match_info["queue_id"])
    async with request.app[keys.POOL].acquire() as conn:
        state = await load_job(conn, request, queue_id)
    return ok({"queue_id": queue_id, "status": state.status})


async def process_job(request: web.Request) -> web.Response:
    require_admin(request)
    queue_id = parse_queue_id(request.match_info["queue_id"])

    async def trigger(conn: asyncpg.Connection) -> web.Response:
        try:
            state, event = await append_decided(conn, request, queue_id, decide_manual_run)
        except AlreadyProcessing:
            raise ApiError(
                409,
                "ALREADY_PROCESSING",
                "This analysis is already running.",
                troubleshooting="Wait for the current run to finish, or cancel it first.",
            ) from None
        except MissingRequirements:
            raise ApiError(
                400,
                "MISSING_REQUIREMENTS",
                "Queue entry missing required primary_username",
                troubleshooting=MISSING_REQUIREMENTS_HELP,
            ) from None
        except ApiError as refused:
            if refused.error_code == "QUEUE_NOT_FOUND":
                refused.troubleshooting = PROCESS_NOT_FOUND_HELP
            raise
        return processing_started(queue_id, state, event, await jobs.manual_queue(conn, queue_id, event.run))

    try:
        return await answer_once(request, trigger)
    except ApiError:
        raise
    except Exception as exc:
        if is_transient_database_error(exc):
            raise  # 503 SERVICE_UNAVAILABLE, as everywhere: retry in a moment
        log.exception("gateway.process_failed", queue_id=queue_id)
        raise ApiError(
            500,
            "PROCESSING_INITIATION_FAILED",
            "Internal server error: Failed to create background processing task",
            troubleshooting=INITIATION_FAILED_HELP,
        ) from None


async def rerun_job(request: web.Request) -> web.Response:
    """The owner's (or an administrator's) new run of a finished job."""
    queue_id = parse_queue_id(request.match_info["queue_id"])
    who = await caller(request)

    async def rerun(conn: asyncpg.Connection) -> web.Response:
        await limits.take(request, "reruns", conn)
        try:
            _, event = await append_decided(
                conn,
                request,
                queue_id,
                lambda state, qid: decide_rerun(state, qid, who.user_id),
                guard=lambda c: check_running_cap(c, request, who),
            )
        except (AlreadyProcessing, AlreadyQueued) as refused:
            raise ApiError(
                409,
                "ALREADY_PROCESSING",
                f"A run of this analysis is already {'running' if refused.status == 'processing' else 'queued'}.",
                troubleshooting="Wait for the current run to finish, or cancel it first.",
            ) from None
        return ok({"queue_id": queue_id, "status": "pending", "run": event.run, "trigger": event.trigger})

    async with request.app[keys.POOL].acquire() as conn:
        await visible_session(conn, request, queue_id)  # another user's job is not found, not limited
    return await answer_once(request, rerun)


async def update_job(request: web.Request) -> web.Response:
    """Changes for the next run (a running one goes on as it started); each change is an event, a
    change to what the job already has appends nothing."""
    queue_id = parse_queue_id(request.match_info["queue_id"])
    body = await parse_body(request, JobUpdate)
    who = await caller(request)
    changes = JobChanges(
        competitors=None if body.selected_competitors is None else competitors(body.selected_competitors),
        content_strategy=body.content_strategy,
        auto_rerun_enabled=body.auto_rerun_enabled,
        rerun_frequency_hours=body.rerun_frequency_hours,
    )

    async def change(conn: asyncpg.Connection) -> web.Response:
        state, event = await decide_and_append(
            conn, request, queue_id, lambda s, qid: decide_update(s, qid, who.user_id, changes)
        )
        changed: list[str] = []
        if event is not None:
            payload = event.model_dump(mode="json", exclude_none=True, exclude={"queue_id", "user_id"})
            apply_update(state, payload)
            changed = sorted("selected_competitors" if k == "competitors" else k for k in payload)
        return ok(
            {
                "queue_id": queue_id,
                "changed": changed,
                "selected_competitors": state.competitor_usernames,
                "content_strategy": state.content_strategy,
                "auto_rerun_enabled": state.auto_rerun_enabled,
                "rerun_frequency_hours": state.rerun_frequency_hours,
                "applies_to": "next_run",
            }
        )

    return await answer_once(request, change)


async def cancel_job(request: web.Request) -> web.Response:
    queue_id = parse_queue_id(request.match_info["queue_id"])
    who = await caller(request)
    async with request.app[keys.POOL].acquire() as conn:
        try:
            await append_decided(
                conn, request, queue_id, lambda state, qid: decide_cancel(state, qid, who.user_id)
            )
        except NotCancellable as refused:
            raise ApiError(
                409, "NOT_CANCELLABLE", f"An analysis that is {refused.status} cannot be cancelled."
            ) from None
    return ok({"queue_id": queue_id, "status": "cancelled"})


async def process_pending(request: web.Request) -> web.Response:
    require_admin(request)
    started = 0
    for queue_id in await jobs.pending_job_ids(request.app[keys.POOL]):
        try:
            async with request.app[keys.POOL].acquire() as conn:
                await append_decided(conn, request, queue_id, decide_pending_run)
            started += 1
        except NotPending:
            continue
    return ok({"status": "started", "pending_count": started})
