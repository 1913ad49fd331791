"""Deciding a profile request from the profile's event stream (no I/O here)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from libs.events.catalog import ProfileRequested, ProfileRequestPromoted
from libs.profiles import ProfileState

RECENT_COMPLETION = timedelta(minutes=10)
PRIORITY_RANK = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}

Outcome = Literal["new", "already_in_queue", "recently_completed", "already_processed"]


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    events: tuple[ProfileRequested | ProfileRequestPromoted, ...] = ()
    request_id: str | None = None
    priority: str | None = None
    fetched_at: datetime | None = None  # when the profile known was last fetched


def decide(
    state: ProfileState,
    *,
    username: str,
    source: str,
    priority: str,
    now: datetime,
    fetched_at: datetime | None = None,
    freshness: timedelta = timedelta(days=7),
) -> Decision:
    """The seeds' duplicate prevention: processed, recently completed, in queue, else a new request.

    `fetched_at`: when the read model last got the profile by any path (an analysis fetches profiles
    without a request), so what the profile endpoints show and what dedup decides agree. A profile
    fetched within `freshness` is not fetched again; an older one is. A profile whose last ingestion
    failed is queued again. A request of higher priority than the queued one promotes it (a user asking
    for a profile the crawler queued gets it processed soon).
    """
    known = [t for t in (state.completed_at if state.status == "completed" else None, fetched_at) if t]
    last = max(known, default=None)
    if last is not None and state.status != "failed" and not state.active and now - last < freshness:
        outcome: Outcome = "recently_completed" if now - last < RECENT_COMPLETION else "already_processed"
        return Decision(outcome, fetched_at=last)
    if state.active:
        assert state.priority is not None and state.request_id is not None
        if state.status == "pending" and PRIORITY_RANK[priority] < PRIORITY_RANK[state.priority]:
            promoted = ProfileRequestPromoted(
                username=username, request_id=state.request_id, priority=priority
            )
            return Decision("already_in_queue", (promoted,), state.request_id, priority)
        return Decision("already_in_queue", (), state.request_id, state.priority)
    request_id = secrets.token_hex(4)
    requested = ProfileRequested(username=username, source=source, priority=priority, request_id=request_id)
    return Decision("new", (requested,), request_id, priority)


def estimated_time(queue_position: int) -> str:
    if queue_position <= 1:
        return "1-2 minutes"
    if queue_position <= 3:
        return "2-5 minutes"
    if queue_position <= 10:
        return "5-15 minutes"
    return "15-30 minutes"
