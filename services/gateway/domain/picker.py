"""The competitor picker's decisions (no I/O): whether a username's similar accounts are fetched
again, and whether a typed-in competitor's profile is.

Similar accounts: a fetch answered within the cache window is served; one pending is waited for (one
fetch per username, however many ask); otherwise (never fetched, stale, force_refresh, failed) a new
request at HIGH priority. An account found gone (unknown or private) is remembered for GONE_FOR, so a
page asking again and again costs no provider call; force_refresh asks anyway.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from libs.events.catalog import SimilarAccountsRequested
from libs.events.envelope import Envelope
from libs.profiles import ProfileState

# Why an account cannot be a competitor, as profile-ingest judges a failed fetch.
GONE = ("ACCOUNT_NOT_FOUND", "ACCOUNT_PRIVATE")
GONE_FOR = timedelta(minutes=10)
# A request unanswered this long is taken as lost (its message dead-lettered): a new one may start.
PENDING_GIVEN_UP = timedelta(minutes=10)
# What the fold leaves in the database: the fetched accounts.
NOT_FOLDED = ("accounts",)


@dataclass
class SimilarState:
    version: int = 0
    request_id: str | None = None
    requested_at: datetime | None = None
    status: Literal["none", "pending", "completed", "failed"] = "none"
    answered_at: datetime | None = None
    error_code: str | None = None


def fold_similar(events: list[Envelope]) -> SimilarState:
    state = SimilarState()
    for e in events:
        state.version = e.stream_version
        match e.event_type:
            case "SimilarAccountsRequested":
                state.request_id = e.payload["request_id"]
                state.requested_at = e.occurred_at
                state.status = "pending"
                state.answered_at = state.error_code = None
            case "SimilarAccountsFetched":
                state.status, state.answered_at = "completed", e.occurred_at
            case "SimilarAccountsFetchFailed":
                state.status, state.answered_at = "failed", e.occurred_at
                state.error_code = e.payload["error_code"]
    return state


@dataclass(frozen=True)
class SimilarDecision:
    outcome: Literal["cached", "pending", "new"]
    request_id: str
    event: SimilarAccountsRequested | None = None


def decide_similar(
    state: SimilarState, *, username: str, now: datetime, cache_for: timedelta, force_refresh: bool
) -> SimilarDecision:
    """The request the caller's answer waits for, and the event to append for it, if any."""
    if state.request_id is not None:
        assert state.requested_at is not None
        if state.status == "pending" and now - state.requested_at < PENDING_GIVEN_UP:
            return SimilarDecision("pending", state.request_id)  # force_refresh too: it is being fetched
        answered_at = state.answered_at
        if not force_refresh and answered_at is not None:
            if state.status == "completed" and now - answered_at < cache_for:
                return SimilarDecision("cached", state.request_id)
            if state.status == "failed" and state.error_code in GONE and now - answered_at < GONE_FOR:
                return SimilarDecision("cached", state.request_id)
    request_id = secrets.token_hex(4)
    requested = SimilarAccountsRequested(username=username, request_id=request_id, priority="HIGH")
    return SimilarDecision("new", request_id, requested)


def known_gone(state: ProfileState, now: datetime) -> bool:
    """The profile's last request failed for good a moment ago: answer that, fetch nothing."""
    return (
        state.status == "failed"
        and state.error_code in GONE
        and state.completed_at is not None
        and now - state.completed_at < GONE_FOR
    )
