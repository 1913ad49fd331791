"""An analysis job's state, folded from its stream `analysis-<queue_id>`, and the commands decided on it
(no I/O here): each decision returns the event to append, or raises a Refused saying why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from libs.events.catalog import (
    AnalysisCancelled,
    AnalysisTriggered,
    AnalysisUpdated,
    Competitor,
    ContentStrategy,
)
from libs.events.envelope import Envelope


@dataclass
class AnalysisJobState:
    version: int = 0
    status: str = "none"  # none | pending | processing | completed | failed | cancelled
    session_id: str | None = None
    primary_username: str | None = None
    competitors: list[Competitor] = field(default_factory=list)
    priority: int = 5
    content_strategy: dict[str, Any] = field(default_factory=dict)
    auto_rerun_enabled: bool = True
    rerun_frequency_hours: int = 24
    runs: int = 0
    owner_id: str | None = None  # the `sub` that created it; None: anonymous

    @property
    def has_strategy(self) -> bool:
        return bool(self.content_strategy)

    @property
    def exists(self) -> bool:
        return self.status != "none"

    @property
    def competitor_usernames(self) -> list[str]:
        return [c.username for c in self.competitors]


def fold(events: list[Envelope]) -> AnalysisJobState:
    state = AnalysisJobState()
    for e in events:
        state.version = e.stream_version
        p = e.payload
        match e.event_type:
            case "AnalysisRequested":
                state.status = "pending"
                state.session_id = p["session_id"]
                state.primary_username = p["primary_username"]
                state.competitors = _competitors(p.get("competitors", []))
                state.priority = p["priority"]
                state.content_strategy = p.get("content_strategy") or {}
                state.auto_rerun_enabled = p.get("auto_rerun_enabled", True)
                state.rerun_frequency_hours = p.get("rerun_frequency_hours", 24)
                state.owner_id = p.get("user_id")
            case "AnalysisUpdated":
                apply_update(state, p)
            case "AnalysisTriggered":
                if state.status != "processing":
                    state.status = "pending"
            case "AnalysisStarted":
                state.status = "processing"
                state.runs = max(state.runs, p["run"])
            case "AnalysisCompleted":
                state.status = "completed"
            case "AnalysisFailed":
                state.status = "failed"
            case "AnalysisCancelled":
                if state.status in ("pending", "processing"):
                    state.status = "cancelled"
    return state


def apply_update(state: AnalysisJobState, payload: dict[str, Any]) -> None:
    """An AnalysisUpdated's payload on the state: the fields it gives, the others unchanged."""
    if payload.get("competitors") is not None:
        state.competitors = _competitors(payload["competitors"])
    if payload.get("content_strategy") is not None:
        state.content_strategy = payload["content_strategy"]
    if payload.get("auto_rerun_enabled") is not None:
        state.auto_rerun_enabled = payload["auto_rerun_enabled"]
    if payload.get("rerun_frequency_hours") is not None:
        state.rerun_frequency_hours = payload["rerun_frequency_hours"]


def _competitors(stored: list[dict[str, Any]]) -> list[Competitor]:
    """Read from the store, so in the current version's shape (the store upcasts older ones)."""
    return [Competitor.model_validate(c) for c in stored]


def requested_summary(events: list[Envelope]) -> tuple[dict[str, Any], list[tuple[Any, ...]]] | None:
    """The job's summary row and competitor rows as the projector will write them from its request, for
    a job the read model does not show yet (read-your-writes); None without an AnalysisRequested.
    Only what the gateway itself decides can be in the stream that early: the request, a cancel."""
    requested = next((e for e in events if e.event_type == "AnalysisRequested"), None)
    if requested is None:
        return None
    state, p = fold(events), requested.payload
    strategy = p.get("content_strategy") or {}
    competitors = _competitors(p.get("competitors", []))
    row = {
        "id": p["queue_id"],
        "session_id": p["session_id"],
        "primary_username": p["primary_username"],
        "status": state.status,
        "priority": p["priority"],
        "progress_percentage": 0,
        "current_step": "cancelled" if state.status == "cancelled" else "queued",
        "error_message": None,
        "content_type": strategy.get("contentType"),
        "target_audience": strategy.get("targetAudience"),
        "main_goals": strategy.get("goals"),
        "full_content_strategy": strategy,
        "analysis_settings": p.get("analysis_settings") or {},
        "active_competitors_count": len(competitors),
        "total_competitors_count": len(competitors),
        "submitted_at": requested.occurred_at,
        "started_processing_at": None,
        "completed_at": None,
        "auto_rerun_enabled": p["auto_rerun_enabled"],
        "rerun_frequency_hours": p["rerun_frequency_hours"],
        "total_runs": 0,
        "last_analysis_at": None,
        "next_scheduled_run": None,
    }
    # (username, processing_status, selection_method, added_at, error_message), as the summary's rows.
    rows = [(c.username, "pending", c.selection_method, requested.occurred_at, None) for c in competitors]
    return row, rows


class Refused(Exception):
    """The job's state does not allow the command: nothing is appended."""

    def __init__(self, status: str) -> None:
        super().__init__(f"{type(self).__name__}: the analysis is {status}")
        self.status = status


class AlreadyProcessing(Refused):
    pass


class MissingRequirements(Refused):
    pass


class NotCancellable(Refused):
    pass


class NotPending(Refused):
    pass


class AlreadyQueued(Refused):
    pass


def decide_manual_run(state: AnalysisJobState, queue_id: str) -> AnalysisTriggered:
    """An admin's /process: the next run, unless one is running; a job with no primary cannot run."""
    if state.status == "processing":
        raise AlreadyProcessing(state.status)
    if not state.primary_username:
        raise MissingRequirements(state.status)
    return AnalysisTriggered(queue_id=queue_id, trigger="manual", run=state.runs + 1)


def decide_rerun(state: AnalysisJobState, queue_id: str, user_id: str | None = None) -> AnalysisTriggered:
    """The owner's re-run: a new run once the last one ended (a queued or running one is enough)."""
    if state.status == "processing":
        raise AlreadyProcessing(state.status)
    if state.status == "pending":
        raise AlreadyQueued(state.status)
    return AnalysisTriggered(queue_id=queue_id, trigger="rerun", run=state.runs + 1, user_id=user_id)


def decide_cancel(state: AnalysisJobState, queue_id: str, user_id: str | None = None) -> AnalysisCancelled:
    if state.status not in ("pending", "processing"):
        raise NotCancellable(state.status)
    return AnalysisCancelled(queue_id=queue_id, user_id=user_id)


@dataclass(frozen=True)
class JobChanges:
    """What a PATCH asks for, validated like a creation; None: leave as it is."""

    competitors: list[Competitor] | None = None
    content_strategy: ContentStrategy | None = None
    auto_rerun_enabled: bool | None = None
    rerun_frequency_hours: int | None = None


def decide_update(
    state: AnalysisJobState, queue_id: str, user_id: str | None, changes: JobChanges
) -> AnalysisUpdated | None:
    """Only what differs from the job's current settings is recorded (a competitor now taken from the
    picker that was typed in differs too); None when nothing does. The primary is never its own
    competitor (as at creation)."""
    strategy = changes.content_strategy
    competitors = changes.competitors
    if competitors is not None:
        competitors = [c for c in competitors if c.username != state.primary_username]
    differs = {
        "competitors": competitors if competitors not in (None, state.competitors) else None,
        "content_strategy": strategy
        if strategy is not None and strategy.model_dump(mode="json") != state.content_strategy
        else None,
        "auto_rerun_enabled": changes.auto_rerun_enabled
        if changes.auto_rerun_enabled not in (None, state.auto_rerun_enabled)
        else None,
        "rerun_frequency_hours": changes.rerun_frequency_hours
        if changes.rerun_frequency_hours not in (None, state.rerun_frequency_hours)
        else None,
    }
    if all(value is None for value in differs.values()):
        return None
    return AnalysisUpdated(queue_id=queue_id, user_id=user_id, **differs)


def decide_pending_run(state: AnalysisJobState, queue_id: str) -> AnalysisTriggered:
    """process-pending lists jobs from the read model, which lags: only a job still pending on its
    stream gets a run."""
    if state.status != "pending":
        raise NotPending(state.status)
    return AnalysisTriggered(queue_id=queue_id, trigger="process_pending", run=state.runs + 1)


def status_category(status: str) -> str:
    return {
        "pending": "waiting",
        "processing": "active",
        "completed": "success",
        "failed": "error",
        "cancelled": "cancelled",
        "paused": "warning",
    }.get(status, "unknown")


def progress_stage(progress: int) -> str:
    if progress <= 0:
        return "not_started"
    if progress < 25:
        return "initializing"
    if progress < 50:
        return "processing"
    if progress < 75:
        return "analyzing"
    if progress < 100:
        return "finalizing"
    return "completed"
