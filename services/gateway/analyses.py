"""Viral ideas analysis commands: create, start, process (admin), cancel, process-pending (admin).

The commands are decided on the job's event stream (domain/analysis_jobs.py) and appended at the
version read; answers never come from a projection."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from libs.events import NewEvent, WrongExpectedVersion
from libs.events.catalog import AnalysisRequested, AnalysisTriggered, ContentStrategy, Event, analysis_stream
from libs.events.store import retry_on_conflict
from services.gateway import keys, repository
from services.gateway.auth import require_admin
from services.gateway.bounded_json import BoundedObject
from services.gateway.domain.analysis_jobs import (
    AlreadyProcessing,
    AnalysisJobState,
    MissingRequirements,
    NotCancellable,
    NotPending,
    decide_cancel,
    decide_manual_run,
    decide_pending_run,
    fold,
)
from services.gateway.errors import ApiError, service_unavailable
from services.gateway.idempotency import answer_once, atomic
from services.gateway.responses import ok
from services.gateway.validation import parse_body, parse_queue_id, username_field

E = TypeVar("E", bound=Event)


class QueueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(min_length=1, max_length=255)
    primary_username: str = Field(max_length=31)
    selected_competitors: list[str] = Field(default_factory=list, max_length=15)
    content_strategy: ContentStrategy
    analysis_settings: BoundedObject = Field(default_factory=dict)
    priority: int = Field(default=5, ge=1, le=10)
    auto_rerun_enabled: bool = True
    rerun_frequency_hours: int = Field(default=24, ge=1, le=168)

    @field_validator("session_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("primary_username")
    @classmethod
    def _primary(cls, value: str) -> str:
        return username_field(value)

    @field_validator("selected_competitors")
    @classmethod
    def _competitors(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(username_field(v) for v in values))  # de-duplicated, order kept

    @model_validator(mode="after")
    def _primary_is_not_a_competitor(self) -> QueueRequest:
        self.selected_competitors = [c for c in self.selected_competitors if c != self.primary_username]
        return self


async def load_job(conn: asyncpg.Connection, request: web.Request, queue_id: str) -> AnalysisJobState:
    state = fold(await request.app[keys.STORE].read_stream(conn, analysis_stream(queue_id)))
    if not state.exists:
        raise ApiError(
            404,
            "QUEUE_NOT_FOUND",
            "Queue entry not found",
            troubleshooting="Verify the queue_id returned when the analysis was queued.",
        )
    return state


async def create_job(request: web.Request) -> web.Response:
    body = await parse_body(request, QueueRequest)
    queue_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    requested = AnalysisRequested(
        queue_id=queue_id,
        session_id=body.session_id,
        primary_username=body.primary_username,
        competitors=body.selected_competitors,
        content_strategy=body.content_strategy,
        analysis_settings=body.analysis_settings,
        priority=body.priority,
        auto_rerun_enabled=body.auto_rerun_enabled,
        rerun_frequency_hours=body.rerun_frequency_hours,
    )

    async def create(conn: asyncpg.Connection) -> web.Response:
        try:
            async with conn.transaction():
                await repository.insert_analysis_session(conn, body.session_id, uuid.UUID(queue_id))
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


async def _append_decided(
    conn: asyncpg.Connection,
    request: web.Request,
    queue_id: str,
    decide: Callable[[AnalysisJobState, str], E],
) -> tuple[AnalysisJobState, E]:
    """Fold, decide, append with the folded version; on a concurrent append decide again."""
    store = request.app[keys.STORE]

    async def attempt() -> tuple[AnalysisJobState, E]:
        state = await load_job(conn, request, queue_id)
        event = decide(state, queue_id)
        async with atomic(conn):
            await store.append(
                conn, analysis_stream(queue_id), [NewEvent(event=event)], expected_version=state.version
            )
        return state, event

    try:
        return await retry_on_conflict(attempt)
    except WrongExpectedVersion:
        raise service_unavailable("The analysis stream is too busy") from None


async def process_job(request: web.Request) -> web.Response:
    require_admin(request)
    queue_id = parse_queue_id(request.match_info["queue_id"])

    async def trigger(conn: asyncpg.Connection) -> web.Response:
        try:
            state, event = await _append_decided(conn, request, queue_id, decide_manual_run)
        except AlreadyProcessing:
            raise ApiError(
                409,
                "ALREADY_PROCESSING",
                "This analysis is already running.",
                troubleshooting="Wait for the current run to finish, or cancel it first.",
            ) from None
        except MissingRequirements:
            raise ApiError(
                400, "MISSING_REQUIREMENTS", "Queue entry missing required primary_username"
            ) from None
        return _processing_started(queue_id, state, event)

    return await answer_once(request, trigger)


def _processing_started(queue_id: str, state: AnalysisJobState, event: AnalysisTriggered) -> web.Response:
    """Seed 000's answer to /process, section by section."""
    competitors = len(state.competitors)
    return web.json_response(
        {
            "success": True,
            "message": "Viral ideas processing started in background",
            "data": {
                "immediate_processing": {
                    "queue_id": queue_id,
                    "status": "processing_started",
                    "run": event.run,
                    "execution_mode": "immediate_background",
                    "processor_type": "ViralIdeasProcessor",
                    "task_created": True,
                },
                "processing_details": {
                    "primary_username": state.primary_username,
                    "session_id": state.session_id,
                    "competitors_count": competitors,
                    "priority": state.priority,
                    "content_strategy_provided": state.has_strategy,
                    "processing_mode": "parallel_competitor_analysis",
                },
                "resource_allocation": {
                    "background_task_created": True,
                    "memory_allocation": "optimized",
                    "concurrent_processing": "enabled",
                    "asyncio_coordination": "active",
                },
                "monitoring": {
                    "progress_endpoint": f"/api/viral-ideas/queue/{state.session_id}",
                    "status_tracking": "real_time",
                    "completion_detection": "automatic",
                },
                "estimated_completion": {
                    "min_duration_minutes": 1,
                    "max_duration_minutes": 2 + competitors,
                    "factors": "Competitor count, content volume, API response times",
                },
                "timestamp": datetime.now(UTC).isoformat(),
            },
        }
    )


async def cancel_job(request: web.Request) -> web.Response:
    queue_id = parse_queue_id(request.match_info["queue_id"])
    async with request.app[keys.POOL].acquire() as conn:
        try:
            await _append_decided(conn, request, queue_id, decide_cancel)
        except NotCancellable as refused:
            raise ApiError(
                409, "NOT_CANCELLABLE", f"An analysis that is {refused.status} cannot be cancelled."
            ) from None
    return ok({"queue_id": queue_id, "status": "cancelled"})


async def process_pending(request: web.Request) -> web.Response:
    require_admin(request)
    started = 0
    for queue_id in await repository.pending_job_ids(request.app[keys.POOL]):
        try:
            async with request.app[keys.POOL].acquire() as conn:
                await _append_decided(conn, request, queue_id, decide_pending_run)
            started += 1
        except NotPending:
            continue
    return ok({"status": "started", "pending_count": started})
