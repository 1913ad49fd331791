"""An analysis job's state, folded from its stream `analysis-<queue_id>` (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from libs.events.envelope import Envelope


@dataclass
class AnalysisJobState:
    version: int = 0
    status: str = "none"  # none | pending | processing | completed | failed | cancelled
    session_id: str | None = None
    primary_username: str | None = None
    competitors: list[str] = field(default_factory=list)
    priority: int = 5
    has_strategy: bool = False
    runs: int = 0

    @property
    def exists(self) -> bool:
        return self.status != "none"


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
                state.competitors = list(p.get("competitors", []))
                state.priority = p["priority"]
                state.has_strategy = bool(p.get("content_strategy"))
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
