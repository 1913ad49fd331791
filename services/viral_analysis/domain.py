"""The analysis run's steps and choices, free of I/O: which reels get transcripts, what the engine is
given, what a finished run stores, and when a job runs again."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import orjson
from pydantic import BaseModel

from libs.analysis import AnalysisInput, CompetitorInput, ContentStrategy, ProfileInput, ReelInput
from libs.analysis.models import MAX_REELS_PER_PROFILE
from libs.events.catalog import (
    AnalysisResult,
    AnalysisTriggered,
    AnalyzedReel,
    ProfileSnapshot,
    ReelSnapshot,
)

# ProgressUpdated steps and their percentages, in order (the API's documented steps).
STEPS: tuple[tuple[str, int], ...] = (
    ("queued", 0),
    ("fetching primary profile", 10),
    ("fetching competitor content", 25),
    ("selecting top reels", 45),
    ("fetching transcripts", 55),
    ("analysing hooks", 70),
    ("generating hooks and scripts", 85),
    ("storing results", 95),
    ("completed", 100),
)
PROGRESS = dict(STEPS)

# A fetched profile: its snapshot and its reels, scored against it.
Fetched = tuple[ProfileSnapshot, list[ReelSnapshot]]


@dataclass(frozen=True)
class Job:
    queue_id: str
    session_id: str
    primary_username: str
    competitors: list[str]
    content_strategy: dict[str, Any]
    analysis_settings: dict[str, Any]
    run: int
    trigger: str
    last_completed_at: datetime | None
    auto_rerun_enabled: bool
    rerun_frequency_hours: int
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None


AnalysisType = Literal["initial", "manual_rerun", "recurring"]


def analysis_type(trigger: str, run: int) -> AnalysisType:
    return "recurring" if trigger == "schedule" else "initial" if run == 1 else "manual_rerun"


def reels_since(trigger: str, now: datetime, lookback_days: int) -> datetime | None:
    """A scheduled re-run looks only at recent reels; any other run at all of them."""
    return now - timedelta(days=lookback_days) if trigger == "schedule" else None


def transcript_candidates(reels: Sequence[ReelSnapshot], wanted: int, factor: int) -> list[ReelSnapshot]:
    """Best outliers first; up to wanted * factor of them may be tried until enough have speech."""
    ranked = sorted(reels, key=lambda r: (-r.outlier_score, -(r.view_count or 0), r.content_id))
    return ranked[: wanted * factor]


def next_transcript_batch(
    candidates: Sequence[ReelSnapshot], transcripts: dict[str, str | None], tried: int, wanted: int
) -> list[ReelSnapshot]:
    """The next candidates to ask for, past the `tried` first: as many as reels with speech are still
    missing, asked all at once; none once enough have speech."""
    found = sum(1 for t in transcripts.values() if t)
    if found >= wanted:
        return []
    return list(candidates[tried : tried + (wanted - found)])


def pick_with_transcripts(
    candidates: Sequence[ReelSnapshot], transcripts: dict[str, str | None], wanted: int
) -> list[ReelSnapshot]:
    """The top `wanted` candidates that have a transcript; reels without speech fill any gap left."""
    spoken = [r for r in candidates if transcripts.get(r.shortcode)]
    silent = [r for r in candidates if not transcripts.get(r.shortcode)]
    chosen = (spoken + silent)[:wanted]
    return [r.model_copy(update={"transcript": transcripts.get(r.shortcode)}) for r in chosen]


def profile_input(snapshot: ProfileSnapshot) -> ProfileInput:
    return ProfileInput(
        username=snapshot.username,
        profile_name=snapshot.profile_name or snapshot.username,
        bio=snapshot.bio or "",
        followers=snapshot.followers,
        median_views=snapshot.median_views,
        mean_views=snapshot.mean_views,
        engagement_rate=snapshot.engagement_rate,
        total_reels=snapshot.total_reels,
    )


@dataclass(frozen=True)
class NicheBaseline:
    """readmodel.niche_baselines for one reel: its category and that category's median views that month."""

    category: str
    median_views: float
    reels: int


def niche_buckets(reels: Sequence[tuple[str, ReelSnapshot]]) -> list[tuple[str, str, date]]:
    """(content_id, username, month) of each (username, reel) posted on a known day: the baseline window
    is the calendar month (UTC) the reel was posted in, as the projector keeps it."""
    found = []
    for username, reel in reels:
        if reel.date_posted is not None and reel.view_count is not None:
            posted = reel.date_posted.astimezone(UTC)
            found.append((reel.content_id, username, date(posted.year, posted.month, 1)))
    return found


def reel_input(username: str, reel: ReelSnapshot, niche: NicheBaseline | None = None) -> ReelInput:
    return ReelInput(
        content_id=reel.content_id,
        shortcode=reel.shortcode,
        url=reel.url,
        username=username,
        caption=reel.description,
        transcript=reel.transcript,
        view_count=reel.view_count,
        like_count=reel.like_count,
        comment_count=reel.comment_count,
        outlier_score=reel.outlier_score,
        engagement_rate=reel.engagement_rate,
        date_posted=reel.date_posted,
        category=niche.category if niche else None,
        niche_median_views=niche.median_views if niche else None,
        niche_reels=niche.reels if niche else None,
    )


def primary_reels_read(primary: Fetched, primary_top: list[ReelSnapshot]) -> list[ReelSnapshot]:
    """Every fetched reel of the creator, best outlier first, with the transcripts fetched for the top ones."""
    spoken = {r.content_id: r.transcript for r in primary_top}
    reels = sorted(primary[1], key=lambda r: (-r.outlier_score, r.content_id))[:MAX_REELS_PER_PROFILE]
    return [r.model_copy(update={"transcript": spoken.get(r.content_id, r.transcript)}) for r in reels]


def analysis_input(
    job: Job,
    primary: Fetched,
    primary_top: list[ReelSnapshot],
    competitors: dict[str, Fetched],
    competitor_top: dict[str, list[ReelSnapshot]],
    niches: Mapping[str, NicheBaseline] | None = None,
) -> AnalysisInput:
    """The creator with every fetched reel (the profile analysis reads them all), each competitor with its
    transcript-selected top reels (the hook patterns come from those), each reel with its niche baseline."""
    niches = niches or {}
    creator = primary[0].username
    read = primary_reels_read(primary, primary_top)
    return AnalysisInput(
        primary=profile_input(primary[0]),
        primary_reels=[reel_input(creator, r, niches.get(r.content_id)) for r in read],
        competitors=[
            CompetitorInput(
                profile=profile_input(competitors[name][0]),
                reels=[reel_input(name, r, niches.get(r.content_id)) for r in reels],
            )
            for name, reels in competitor_top.items()
        ],
        content_strategy=ContentStrategy.model_validate(job.content_strategy),
        settings=job.analysis_settings,
    )


def analysis_result(
    job: Job,
    *,
    primary_username: str,
    primary_top: list[ReelSnapshot],
    competitor_top: dict[str, list[ReelSnapshot]],
    analysis_data: BaseModel,
    workflow_version: str,
    started_at: datetime,
    completed_at: datetime,
    processing_time_seconds: float,
) -> AnalysisResult:
    """What a finished run stores: the reels it read (primary first), their counts and the engine's answer."""
    analysed = [
        AnalyzedReel(**r.model_dump(), username=primary_username, reel_type="primary") for r in primary_top
    ]
    for name, reels in competitor_top.items():
        analysed += [AnalyzedReel(**r.model_dump(), username=name, reel_type="competitor") for r in reels]
    return AnalysisResult(
        analysis_type=analysis_type(job.trigger, job.run),
        workflow_version=workflow_version,
        started_at=started_at,
        completed_at=completed_at,
        processing_time_seconds=processing_time_seconds,
        primary_reels_count=len(primary_top),
        competitor_reels_count=sum(len(r) for r in competitor_top.values()),
        transcripts_fetched=sum(1 for r in analysed if r.transcript),
        competitors_analyzed=sorted(competitor_top),
        analyzed_reels=analysed,
        analysis_data=orjson.loads(analysis_data.model_dump_json()),
    )


def next_scheduled_run(
    completed_at: datetime, auto_rerun_enabled: bool, rerun_frequency_hours: int
) -> datetime | None:
    return completed_at + timedelta(hours=rerun_frequency_hours) if auto_rerun_enabled else None


def scheduled_rerun(queue_id: str, last_run: int) -> AnalysisTriggered:
    """A due job's re-run: the next run number, triggered by the schedule."""
    return AnalysisTriggered(queue_id=queue_id, trigger="schedule", run=last_run + 1)
