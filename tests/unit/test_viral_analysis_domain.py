"""viral-analysis's pure decisions: steps, transcript selection, engine input, the stored result, re-runs."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel

from libs.events.catalog import ProfileSnapshot, ReelSnapshot
from services.viral_analysis.domain import (
    PROGRESS,
    STEPS,
    Job,
    NicheBaseline,
    analysis_input,
    analysis_result,
    analysis_type,
    next_scheduled_run,
    next_transcript_batch,
    niche_buckets,
    pick_with_transcripts,
    profile_input,
    reel_input,
    reels_since,
    scheduled_rerun,
    transcript_candidates,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
STRATEGY = {"contentType": "Home workouts", "targetAudience": "Busy parents", "goals": "Sell coaching"}


def reel(n: int, score: float = 1.0, views: int | None = 100, transcript: str | None = None) -> ReelSnapshot:
    return ReelSnapshot(
        content_id=f"c{n:02d}",
        shortcode=f"s{n:02d}",
        url=f"https://instagram.test/reel/s{n:02d}",
        description=f"caption {n}",
        view_count=views,
        like_count=n,
        comment_count=1,
        outlier_score=score,
        engagement_rate=0.1,
        date_posted=NOW - timedelta(days=n),
        transcript=transcript,
    )


def profile(username: str, **extra: object) -> ProfileSnapshot:
    return ProfileSnapshot(username=username, followers=1000, total_reels=10, median_views=50, **extra)


def job(**extra: object) -> Job:
    fields: dict = {
        "queue_id": "00000000-0000-4000-8000-000000000001",
        "session_id": "session-1",
        "primary_username": "fitwithmaya",
        "competitors": ["amy", "max"],
        "content_strategy": STRATEGY,
        "analysis_settings": {"hooks_count": 5},
        "run": 1,
        "trigger": "queued",
        "last_completed_at": None,
        "auto_rerun_enabled": True,
        "rerun_frequency_hours": 24,
        **extra,
    }
    return Job(**fields)


class EngineAnswer(BaseModel):
    hooks: list[str]
    written_at: datetime


def test_steps_rise_from_queued_to_completed() -> None:
    values = [p for _, p in STEPS]
    assert STEPS[0] == ("queued", 0) and STEPS[-1] == ("completed", 100)
    assert values == sorted(values) and len(set(values)) == len(values)
    assert PROGRESS["fetching transcripts"] == 55


def test_a_job_is_plain_data_without_a_lock() -> None:
    assert job() == job()
    assert {f.name for f in dataclasses.fields(Job)} >= {"queue_id", "run", "trigger"}
    assert not any("lock" in f.name for f in dataclasses.fields(Job))


def test_the_first_run_is_initial_a_later_one_manual_and_a_scheduled_one_recurring() -> None:
    assert analysis_type("queued", 1) == "initial"
    assert analysis_type("manual", 2) == "manual_rerun"
    assert analysis_type("start", 3) == "manual_rerun"
    assert analysis_type("schedule", 2) == "recurring"


def test_only_a_scheduled_rerun_looks_back_a_limited_time() -> None:
    assert reels_since("schedule", NOW, 30) == NOW - timedelta(days=30)
    assert reels_since("queued", NOW, 30) is None
    assert reels_since("manual", NOW, 30) is None


def test_candidates_are_the_best_outliers_then_views_then_id_up_to_wanted_times_factor() -> None:
    reels = [reel(1, 2.0), reel(2, 5.0), reel(3, 2.0, views=900), reel(4, 2.0, views=None), reel(5, 1.0)]
    ranked = transcript_candidates(reels, wanted=2, factor=2)
    assert [r.content_id for r in ranked] == ["c02", "c03", "c01", "c04"]


def test_candidates_are_all_reels_when_fewer_than_allowed() -> None:
    assert len(transcript_candidates([reel(1), reel(2)], wanted=3, factor=3)) == 2


def test_the_first_transcript_batch_asks_for_as_many_as_wanted() -> None:
    candidates = [reel(n) for n in range(1, 10)]
    assert [r.shortcode for r in next_transcript_batch(candidates, {}, 0, 3)] == ["s01", "s02", "s03"]


def test_a_later_batch_asks_only_for_the_reels_with_speech_still_missing() -> None:
    candidates = [reel(n) for n in range(1, 10)]
    known = {"s01": "hello", "s02": None, "s03": None}
    assert [r.shortcode for r in next_transcript_batch(candidates, known, 3, 3)] == ["s04", "s05"]


def test_no_batch_once_enough_reels_have_speech_or_candidates_run_out() -> None:
    candidates = [reel(n) for n in range(1, 4)]
    assert next_transcript_batch(candidates, {"s01": "a", "s02": "b"}, 2, 2) == []
    assert next_transcript_batch(candidates, {"s01": None, "s02": None, "s03": None}, 3, 2) == []


def test_reels_with_speech_are_picked_first_and_silent_ones_fill_the_gap() -> None:
    candidates = [reel(1), reel(2), reel(3), reel(4)]
    picked = pick_with_transcripts(candidates, {"s01": None, "s02": "two", "s03": "", "s04": "four"}, 3)
    assert [r.shortcode for r in picked] == ["s02", "s04", "s01"]
    assert [r.transcript for r in picked] == ["two", "four", None]


def test_a_profile_without_name_or_bio_goes_to_the_engine_under_its_username() -> None:
    given = profile_input(profile("amy"))
    assert given.username == "amy" and given.profile_name == "amy" and given.bio == ""
    named = profile_input(profile("amy", profile_name="Amy Coach", bio="Lifting"))
    assert named.profile_name == "Amy Coach" and named.bio == "Lifting" and named.followers == 1000


def test_a_reel_goes_to_the_engine_with_its_caption_and_owner() -> None:
    given = reel_input("amy", reel(7, score=3.5, transcript="spoken"))
    assert given.username == "amy" and given.caption == "caption 7" and given.transcript == "spoken"
    assert given.content_id == "c07" and given.outlier_score == 3.5 and given.like_count == 7


def test_the_engine_is_given_every_creator_reel_the_competitors_top_reels_and_the_job_strategy() -> None:
    primary = (profile("fitwithmaya"), [reel(1, score=0.5), reel(2, score=2.0)])
    competitors = {"amy": (profile("amy"), [reel(3), reel(5)]), "max": (profile("max"), [reel(4)])}
    top = [reel(1, score=0.5, transcript="spoken one")]
    given = analysis_input(job(), primary, top, competitors, {"max": [reel(4)], "amy": [reel(3)]})
    # Every fetched reel of the creator, best first, with the transcript fetched for the selected one.
    assert given.primary.username == "fitwithmaya" and [r.shortcode for r in given.primary_reels] == [
        "s02",
        "s01",
    ]
    assert [r.transcript for r in given.primary_reels] == [None, "spoken one"]
    assert [c.profile.username for c in given.competitors] == ["max", "amy"]
    assert [r.username for c in given.competitors for r in c.reels] == ["max", "amy"]
    assert given.content_strategy.contentType == "Home workouts"
    assert given.settings == {"hooks_count": 5}


def test_each_reel_carries_its_niche_baseline_when_the_read_model_has_one() -> None:
    posted = reel(3).model_copy(update={"date_posted": datetime(2026, 2, 28, 23, 30, tzinfo=UTC)})
    undated = reel(4).model_copy(update={"date_posted": None})
    assert niche_buckets([("amy", posted), ("amy", undated)]) == [("c03", "amy", date(2026, 2, 1))]
    primary = (profile("fitwithmaya"), [reel(1)])
    competitors = {"amy": (profile("amy"), [posted])}
    niches = {"c03": NicheBaseline("fitness", 40.0, 120)}
    given = analysis_input(job(), primary, [], competitors, {"amy": [posted]}, niches)
    theirs, own = given.competitors[0].reels[0], given.primary_reels[0]
    assert (theirs.category, theirs.niche_median_views, theirs.niche_reels) == ("fitness", 40.0, 120)
    assert theirs.niche_outlier_score == round(100 / 40, 2)
    assert own.category is None and own.niche_outlier_score is None


def test_a_result_lists_the_primary_reels_first_and_counts_what_was_read() -> None:
    answer = EngineAnswer(hooks=["Stop scrolling"], written_at=NOW)
    result = analysis_result(
        job(run=2, trigger="manual"),
        primary_username="fitwithmaya",
        primary_top=[reel(1, transcript="one"), reel(2)],
        competitor_top={"max": [reel(4, transcript="four")], "amy": [reel(3)]},
        analysis_data=answer,
        workflow_version="local-1.0",
        started_at=NOW,
        completed_at=NOW + timedelta(seconds=3),
        processing_time_seconds=3.2,
    )
    assert result.analysis_type == "manual_rerun" and result.workflow_version == "local-1.0"
    assert [(r.username, r.reel_type) for r in result.analyzed_reels] == [
        ("fitwithmaya", "primary"),
        ("fitwithmaya", "primary"),
        ("max", "competitor"),
        ("amy", "competitor"),
    ]
    assert result.primary_reels_count == 2 and result.competitor_reels_count == 2
    assert result.transcripts_fetched == 2 and result.competitors_analyzed == ["amy", "max"]
    assert result.processing_time_seconds == 3.2 and result.completed_at == NOW + timedelta(seconds=3)
    assert result.analysis_data == {"hooks": ["Stop scrolling"], "written_at": "2026-01-01T12:00:00Z"}


def test_a_result_without_competitors_counts_none() -> None:
    result = analysis_result(
        job(trigger="schedule", run=3),
        primary_username="fitwithmaya",
        primary_top=[],
        competitor_top={},
        analysis_data=EngineAnswer(hooks=[], written_at=NOW),
        workflow_version="v",
        started_at=NOW,
        completed_at=NOW,
        processing_time_seconds=0,
    )
    assert result.analysis_type == "recurring" and result.analyzed_reels == []
    assert result.competitor_reels_count == 0 and result.transcripts_fetched == 0


def test_a_job_with_auto_rerun_runs_again_after_its_frequency() -> None:
    assert next_scheduled_run(NOW, True, 24) == NOW + timedelta(hours=24)
    assert next_scheduled_run(NOW, True, 1) == NOW + timedelta(hours=1)


def test_a_job_without_auto_rerun_is_not_scheduled_again() -> None:
    assert next_scheduled_run(NOW, False, 24) is None


def test_a_scheduled_rerun_is_the_next_run_triggered_by_the_schedule() -> None:
    trigger = scheduled_rerun("00000000-0000-4000-8000-000000000001", last_run=2)
    assert trigger.trigger == "schedule" and trigger.run == 3
    assert trigger.queue_id == "00000000-0000-4000-8000-000000000001"
