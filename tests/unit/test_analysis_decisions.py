import uuid
from datetime import UTC, datetime

import pytest

from libs.events import Envelope
from libs.events.catalog import REGISTRY, Competitor, ContentStrategy
from services.gateway.domain.analysis_jobs import (
    AlreadyProcessing,
    AlreadyQueued,
    AnalysisJobState,
    JobChanges,
    MissingRequirements,
    NotCancellable,
    NotPending,
    decide_cancel,
    decide_manual_run,
    decide_pending_run,
    decide_rerun,
    decide_update,
    fold,
    progress_stage,
    requested_summary,
    status_category,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
QUEUE_ID = "6f1c2f6e-2d4b-4c4e-9a57-0d5b1c3e8a10"


def env(version: int, event_type: str, **payload: object) -> Envelope:
    """As the store hands events out: at the current schema version."""
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=event_type,
        schema_version=REGISTRY[event_type].schema_version,
        occurred_at=NOW,
        producer="test",
        stream_id=f"analysis-{QUEUE_ID}",
        stream_version=version,
        correlation_id=uuid.uuid4(),
        payload=payload,
    )


def requested(version: int = 1, **overrides: object) -> Envelope:
    payload: dict[str, object] = {
        "queue_id": QUEUE_ID,
        "session_id": "demo-1",
        "primary_username": "fitwithmaya",
        "competitors": [
            {"username": "fit.coach.amy", "selection_method": "manual"},
            {"username": "gym.bro.max", "selection_method": "suggested"},
        ],
        "content_strategy": {"contentType": "Home workouts"},
        "priority": 3,
    } | overrides
    return env(version, "AnalysisRequested", **payload)


def started(version: int, run: int) -> Envelope:
    return env(version, "AnalysisStarted", queue_id=QUEUE_ID, run=run, worker="w1")


def state_of(status: str, runs: int = 0) -> AnalysisJobState:
    return AnalysisJobState(version=3, status=status, primary_username="fitwithmaya", runs=runs)


def test_a_stream_with_no_events_is_no_job() -> None:
    state = fold([])
    assert state.status == "none" and not state.exists and state.version == 0


def test_a_requested_job_is_pending_with_what_was_asked() -> None:
    state = fold([requested()])
    assert state.exists and state.status == "pending" and state.version == 1
    assert state.session_id == "demo-1" and state.primary_username == "fitwithmaya"
    assert state.competitor_usernames == ["fit.coach.amy", "gym.bro.max"]
    assert [c.selection_method for c in state.competitors] == ["manual", "suggested"]
    assert state.priority == 3 and state.has_strategy and state.runs == 0


def test_a_request_stored_at_version_1_folds_with_its_competitors_typed_in() -> None:
    v1 = requested(
        competitors=["fit.coach.amy", "gym.bro.max"], auto_rerun_enabled=True, rerun_frequency_hours=24
    )
    stored = v1.model_copy(update={"schema_version": 1})
    state = fold([stored.upcast()])
    assert state.competitors == [manual("fit.coach.amy"), manual("gym.bro.max")]
    summary = requested_summary([stored.upcast()])
    assert summary is not None
    assert [(name, method) for name, _, method, _, _ in summary[1]] == [
        ("fit.coach.amy", "manual"),
        ("gym.bro.max", "manual"),
    ]


def manual(username: str) -> Competitor:
    return Competitor(username=username, selection_method="manual")


def test_a_job_asked_without_a_strategy_says_so() -> None:
    assert not fold([requested(content_strategy={})]).has_strategy


def test_a_started_run_makes_the_job_processing_and_counts_the_run() -> None:
    state = fold([requested(), started(2, run=1)])
    assert state.status == "processing" and state.runs == 1 and state.version == 2


def test_a_restarted_run_does_not_lower_the_run_count() -> None:
    state = fold([requested(), started(2, run=2), started(3, run=1)])
    assert state.runs == 2


@pytest.mark.parametrize(
    ("last", "status"), [("AnalysisCompleted", "completed"), ("AnalysisFailed", "failed")]
)
def test_a_run_ends_completed_or_failed(last: str, status: str) -> None:
    assert fold([requested(), started(2, run=1), env(3, last, queue_id=QUEUE_ID)]).status == status


def test_a_trigger_after_the_end_makes_the_job_pending_again() -> None:
    history = [requested(), started(2, run=1), env(3, "AnalysisCompleted", queue_id=QUEUE_ID)]
    triggered = env(4, "AnalysisTriggered", queue_id=QUEUE_ID, trigger="schedule", run=2)
    assert fold([*history, triggered]).status == "pending"


def test_a_trigger_while_running_leaves_the_job_processing() -> None:
    triggered = env(3, "AnalysisTriggered", queue_id=QUEUE_ID, trigger="manual", run=2)
    assert fold([requested(), started(2, run=1), triggered]).status == "processing"


def test_a_pending_job_is_cancelled() -> None:
    assert fold([requested(), env(2, "AnalysisCancelled", queue_id=QUEUE_ID)]).status == "cancelled"


def test_a_processing_job_is_cancelled() -> None:
    history = [requested(), started(2, run=1), env(3, "AnalysisCancelled", queue_id=QUEUE_ID)]
    assert fold(history).status == "cancelled"


def test_a_cancellation_after_the_end_changes_nothing() -> None:
    history = [requested(), started(2, run=1), env(3, "AnalysisCompleted", queue_id=QUEUE_ID)]
    state = fold([*history, env(4, "AnalysisCancelled", queue_id=QUEUE_ID)])
    assert state.status == "completed" and state.version == 4


@pytest.mark.parametrize("status", ["pending", "completed", "failed", "cancelled"])
def test_a_manual_run_is_the_next_run(status: str) -> None:
    event = decide_manual_run(state_of(status, runs=2), QUEUE_ID)
    assert (event.queue_id, event.trigger, event.run) == (QUEUE_ID, "manual", 3)


def test_a_manual_run_is_refused_while_one_is_running() -> None:
    with pytest.raises(AlreadyProcessing):
        decide_manual_run(state_of("processing", runs=1), QUEUE_ID)


def test_a_manual_run_is_refused_for_a_job_without_its_primary_profile() -> None:
    with pytest.raises(MissingRequirements):
        decide_manual_run(AnalysisJobState(version=1, status="pending"), QUEUE_ID)


@pytest.mark.parametrize("status", ["pending", "processing"])
def test_a_pending_or_processing_job_can_be_cancelled(status: str) -> None:
    assert decide_cancel(state_of(status), QUEUE_ID).queue_id == QUEUE_ID


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_a_finished_job_cannot_be_cancelled_and_says_what_it_is(status: str) -> None:
    with pytest.raises(NotCancellable) as refused:
        decide_cancel(state_of(status), QUEUE_ID)
    assert refused.value.status == status


def test_process_pending_runs_a_job_still_pending_on_its_stream() -> None:
    event = decide_pending_run(state_of("pending", runs=1), QUEUE_ID)
    assert (event.queue_id, event.trigger, event.run) == (QUEUE_ID, "process_pending", 2)


@pytest.mark.parametrize("status", ["processing", "completed", "failed", "cancelled"])
def test_process_pending_skips_a_job_no_longer_pending(status: str) -> None:
    with pytest.raises(NotPending):
        decide_pending_run(state_of(status), QUEUE_ID)


def test_the_owner_is_the_user_who_asked_and_an_old_request_is_anonymous() -> None:
    assert fold([requested(user_id="alice")]).owner_id == "alice"
    assert fold([requested()]).owner_id is None


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_a_rerun_is_the_next_run_with_the_user(status: str) -> None:
    event = decide_rerun(state_of(status, runs=2), QUEUE_ID, "alice")
    assert (event.run, event.trigger, event.user_id) == (3, "rerun", "alice")


@pytest.mark.parametrize(
    ("status", "refusal"), [("processing", AlreadyProcessing), ("pending", AlreadyQueued)]
)
def test_a_rerun_is_refused_while_a_run_is_queued_or_running(status: str, refusal: type) -> None:
    with pytest.raises(refusal):
        decide_rerun(state_of(status), QUEUE_ID, "alice")


def test_an_update_records_only_what_differs_and_never_the_primary_as_a_competitor() -> None:
    state = fold([requested(user_id="alice")])
    same = JobChanges(competitors=list(state.competitors), rerun_frequency_hours=24)
    assert decide_update(state, QUEUE_ID, "alice", same) is None
    changes = JobChanges(
        competitors=[manual("fitwithmaya"), manual("yoga.with.lin")], rerun_frequency_hours=48
    )
    event = decide_update(state, QUEUE_ID, "alice", changes)
    assert event is not None and event.competitors == [manual("yoga.with.lin")]
    assert event.rerun_frequency_hours == 48
    assert event.content_strategy is None and event.auto_rerun_enabled is None  # unchanged: not recorded
    strategy = ContentStrategy(contentType="Home workouts", targetAudience="Parents", goals="Grow")
    folded = fold([requested(user_id="alice"), env(2, "AnalysisUpdated", **event.model_dump(mode="json"))])
    assert folded.competitors == [manual("yoga.with.lin")] and folded.rerun_frequency_hours == 48
    assert decide_update(folded, QUEUE_ID, "alice", JobChanges(content_strategy=strategy)) is not None
    # The same competitor, now taken from the picker: a change, recorded.
    picked = JobChanges(competitors=[Competitor(username="yoga.with.lin", selection_method="suggested")])
    event = decide_update(folded, QUEUE_ID, "alice", picked)
    assert event is not None and event.competitors == picked.competitors


def test_every_status_has_its_category() -> None:
    assert {
        s: status_category(s) for s in ("pending", "processing", "completed", "failed", "cancelled", "paused")
    } == {
        "pending": "waiting",
        "processing": "active",
        "completed": "success",
        "failed": "error",
        "cancelled": "cancelled",
        "paused": "warning",
    }
    assert status_category("something else") == "unknown"


def test_progress_stages_change_at_each_quarter() -> None:
    assert [progress_stage(p) for p in (-1, 0, 1, 24, 25, 49, 50, 74, 75, 99, 100, 120)] == [
        "not_started",
        "not_started",
        "initializing",
        "initializing",
        "processing",
        "processing",
        "analyzing",
        "analyzing",
        "finalizing",
        "finalizing",
        "completed",
        "completed",
    ]
