import uuid
from datetime import UTC, datetime, timedelta

from libs.events import Envelope
from libs.profiles import fold
from services.gateway.domain.profile_requests import decide, estimated_time

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def env(version: int, event_type: str, at: datetime, **payload: object) -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=event_type,
        occurred_at=at,
        producer="test",
        stream_id="profile-alice",
        stream_version=version,
        correlation_id=uuid.uuid4(),
        payload=payload,
    )


def requested(
    version: int = 1, at: datetime = NOW, priority: str = "HIGH", rid: str = "0000000a"
) -> Envelope:
    return env(
        version,
        "ProfileRequested",
        at,
        username="alice",
        source="frontend",
        priority=priority,
        request_id=rid,
    )


def test_unknown_profile_is_requested_as_new_with_high_priority() -> None:
    decision = decide(fold([]), username="alice", source="frontend", priority="HIGH", now=NOW)
    assert decision.outcome == "new"
    assert decision.priority == "HIGH"
    assert decision.request_id is not None and len(decision.request_id) == 8
    (event,) = decision.events
    assert event.event_type == "ProfileRequested" and event.request_id == decision.request_id


def test_pending_profile_is_already_in_queue_and_appends_nothing() -> None:
    decision = decide(fold([requested()]), username="alice", source="frontend", priority="HIGH", now=NOW)
    assert decision.outcome == "already_in_queue"
    assert decision.events == ()
    assert decision.request_id == "0000000a"


def test_high_request_promotes_a_queued_low_one() -> None:
    state = fold([requested(priority="LOW")])
    decision = decide(state, username="alice", source="frontend", priority="HIGH", now=NOW)
    assert decision.outcome == "already_in_queue"
    assert [e.event_type for e in decision.events] == ["ProfileRequestPromoted"]
    assert decision.priority == "HIGH"


def test_completion_inside_ten_minutes_is_recent_then_already_processed() -> None:
    history = [
        requested(at=NOW - timedelta(minutes=30)),
        env(
            2,
            "ProfileIngestStarted",
            NOW - timedelta(minutes=29),
            username="alice",
            request_id="0000000a",
            attempt=1,
        ),
        env(
            3,
            "ProfileIngested",
            NOW - timedelta(minutes=9),
            username="alice",
            request_id="0000000a",
            attempts=1,
            duration_ms=10,
            profile={"username": "alice"},
        ),
    ]
    state = fold(history)
    assert (
        decide(state, username="alice", source="x", priority="HIGH", now=NOW).outcome == "recently_completed"
    )
    later = NOW + timedelta(minutes=2)
    assert (
        decide(state, username="alice", source="x", priority="HIGH", now=later).outcome == "already_processed"
    )
    assert state.first_completed_at == NOW - timedelta(minutes=9)


def test_failed_profile_is_queued_again_as_new() -> None:
    history = [
        requested(),
        env(
            2,
            "ProfileIngestFailed",
            NOW,
            username="alice",
            request_id="0000000a",
            attempts=3,
            will_retry=False,
            reason="provider down",
            error_code="PROVIDER_UNAVAILABLE",
        ),
    ]
    state = fold(history)
    assert state.status == "failed" and state.error_message == "provider down"
    decision = decide(state, username="alice", source="frontend", priority="HIGH", now=NOW)
    assert decision.outcome == "new" and decision.request_id != "0000000a"


def test_retrying_failure_keeps_the_request_pending() -> None:
    history = [
        requested(),
        env(
            2,
            "ProfileIngestFailed",
            NOW,
            username="alice",
            request_id="0000000a",
            attempts=1,
            will_retry=True,
            reason="timeout",
            error_code="PROVIDER_TIMEOUT",
        ),
    ]
    assert fold(history).status == "pending"
    assert decide(fold(history), username="alice", source="f", priority="HIGH", now=NOW).outcome == (
        "already_in_queue"
    )


def test_estimated_time_grows_with_queue_position() -> None:
    assert [estimated_time(p) for p in (1, 2, 3, 4, 10, 11)] == [
        "1-2 minutes",
        "2-5 minutes",
        "2-5 minutes",
        "5-15 minutes",
        "5-15 minutes",
        "15-30 minutes",
    ]
