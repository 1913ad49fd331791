"""What a profile's stream says, folded from its events (no I/O): shared by everything that decides on
a profile (the gateway's requests, the crawler's discoveries), so they agree on what is queued or known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from libs.events.envelope import Envelope

Status = Literal["none", "pending", "processing", "completed", "failed"]


@dataclass
class ProfileState:
    """What the profile's stream says, folded from its events."""

    version: int = 0
    status: Status = "none"
    request_id: str | None = None
    priority: str | None = None
    source: str | None = None
    requested_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    attempts: int = 0
    error_message: str | None = None
    error_code: str | None = None  # why the last attempt failed (ProfileIngestFailed's)
    first_completed_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ("pending", "processing")


# What a fold never reads, and nearly all of a profile stream's bytes: the snapshots ProfileIngested and
# ReelsCategorised carry. Readers that only fold pass it to EventStore.read_stream(without=...).
NOT_FOLDED = ("profile", "reels", "posts", "similar")


def fold(events: list[Envelope]) -> ProfileState:
    state = ProfileState()
    for e in events:
        state.version = e.stream_version
        p = e.payload
        match e.event_type:
            case "ProfileRequested":
                state.status = "pending"
                state.request_id = p["request_id"]
                state.priority = p["priority"]
                state.source = p["source"]
                state.requested_at = e.occurred_at
                state.started_at = state.completed_at = state.error_message = state.error_code = None
                state.attempts = 0
            case "ProfileRequestPromoted":
                state.priority = p["priority"]
            case "ProfileIngestStarted":
                state.status = "processing"
                state.attempts = p["attempt"]
                state.started_at = state.started_at or e.occurred_at
            case "ProfileIngestFailed":
                state.status = "pending" if p["will_retry"] else "failed"
                state.attempts = p["attempts"]
                state.error_message = p["reason"]
                state.error_code = p.get("error_code")
                if not p["will_retry"]:
                    state.completed_at = e.occurred_at
            case "ProfileIngested":
                state.status = "completed"
                state.attempts = p["attempts"]
                state.completed_at = e.occurred_at
                state.error_message = state.error_code = None
                state.first_completed_at = state.first_completed_at or e.occurred_at
    return state
