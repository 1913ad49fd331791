"""The competitor picker's decisions from a similar-<username> stream, and the bounded projection wait."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from libs.events import Envelope
from libs.profiles import fold
from services.gateway.domain.picker import (
    GONE_FOR,
    PENDING_GIVEN_UP,
    decide_similar,
    fold_similar,
    known_gone,
)
from services.gateway.projection_wait import POLL_S, ProjectionWaits

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def env(
    version: int, event_type: str, at: datetime, stream: str = "similar-alice", **payload: object
) -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=event_type,
        occurred_at=at,
        producer="test",
        stream_id=stream,
        stream_version=version,
        correlation_id=uuid.uuid4(),
        payload={"username": "alice", **payload},
    )


def requested(version: int, at: datetime, rid: str = "0000000a") -> Envelope:
    return env(version, "SimilarAccountsRequested", at, request_id=rid, priority="HIGH")


def fetched(version: int, at: datetime, rid: str = "0000000a") -> Envelope:
    return env(version, "SimilarAccountsFetched", at, request_id=rid, duration_ms=5, accounts=[])


def failed(version: int, at: datetime, code: str, rid: str = "0000000a") -> Envelope:
    return env(version, "SimilarAccountsFetchFailed", at, request_id=rid, reason="x", error_code=code)


def decide(events: list[Envelope], now: datetime = NOW, force_refresh: bool = False):  # type: ignore[no-untyped-def]
    return decide_similar(
        fold_similar(events), username="alice", now=now, cache_for=DAY, force_refresh=force_refresh
    )


def test_a_never_fetched_username_is_requested_at_high_priority() -> None:
    decision = decide([])
    assert decision.outcome == "new" and decision.event is not None
    assert decision.event.priority == "HIGH" and decision.event.request_id == decision.request_id


def test_a_pending_fetch_is_joined_even_when_a_refresh_is_forced() -> None:
    events = [requested(1, NOW - timedelta(seconds=3))]
    for force in (False, True):
        decision = decide(events, force_refresh=force)
        assert (decision.outcome, decision.request_id, decision.event) == ("pending", "0000000a", None)


def test_a_pending_fetch_unanswered_for_too_long_is_asked_again() -> None:
    decision = decide([requested(1, NOW - PENDING_GIVEN_UP - timedelta(seconds=1))])
    assert decision.outcome == "new" and decision.request_id != "0000000a"


def test_a_fetch_is_served_for_a_day_then_fetched_again_and_force_refresh_fetches_at_once() -> None:
    events = [requested(1, NOW - timedelta(hours=2)), fetched(2, NOW - timedelta(hours=2))]
    assert decide(events).outcome == "cached"
    assert decide(events, force_refresh=True).outcome == "new"
    assert decide(events, now=NOW + DAY).outcome == "new"


def test_a_gone_account_is_remembered_briefly_and_other_failures_not_at_all() -> None:
    for code in ("ACCOUNT_NOT_FOUND", "ACCOUNT_PRIVATE"):
        events = [requested(1, NOW), failed(2, NOW, code)]
        assert decide(events, now=NOW + timedelta(minutes=1)).outcome == "cached"
        assert decide(events, now=NOW + GONE_FOR).outcome == "new"
        assert decide(events, now=NOW + timedelta(minutes=1), force_refresh=True).outcome == "new"
    assert decide([requested(1, NOW), failed(2, NOW, "PROVIDER_UNAVAILABLE")]).outcome == "new"


def test_a_new_request_after_an_answer_is_what_the_fold_waits_for() -> None:
    state = fold_similar(
        [requested(1, NOW, "0000000a"), fetched(2, NOW, "0000000a"), requested(3, NOW, "0000000b")]
    )
    assert (state.version, state.status, state.request_id) == (3, "pending", "0000000b")


def test_a_profile_that_failed_for_good_a_moment_ago_is_known_gone() -> None:
    def profile(code: str) -> list[Envelope]:
        base = {"username": "alice", "request_id": "0000000a"}
        asked = {**base, "source": "frontend", "priority": "HIGH"}
        gave_up = {**base, "attempts": 1, "will_retry": False, "reason": "x", "error_code": code}
        return [
            env(1, "ProfileRequested", NOW, stream="profile-alice", **asked),
            env(2, "ProfileIngestFailed", NOW, stream="profile-alice", **gave_up),
        ]

    assert known_gone(fold(profile("ACCOUNT_PRIVATE")), NOW + timedelta(minutes=1))
    assert not known_gone(fold(profile("ACCOUNT_PRIVATE")), NOW + GONE_FOR)
    assert not known_gone(fold(profile("PROVIDER_UNAVAILABLE")), NOW)


async def test_a_wake_answers_a_waiter_before_its_poll_and_the_bound_holds() -> None:
    waits = ProjectionWaits()
    projected: list[str] = []

    async def check() -> str | None:
        return projected[0] if projected else None

    loop = asyncio.get_running_loop()
    started = loop.time()
    waiter = asyncio.create_task(waits.until("similar-alice", check, timeout_s=5))
    await asyncio.sleep(0.05)
    assert len(waits) == 1
    projected.append("done")
    waits.wake("similar-bob")  # another stream's result wakes nobody here
    waits.wake("similar-alice")
    assert await waiter == "done"
    assert loop.time() - started < POLL_S
    assert len(waits) == 0

    started = loop.time()
    assert await waits.until("similar-carol", lambda: asyncio.sleep(0, None), timeout_s=0.2) is None
    assert 0.2 <= loop.time() - started < 0.2 + POLL_S
