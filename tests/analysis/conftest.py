"""Fixtures: an OpenAI-compatible stub on a free port, and analysis input fetched from the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from libs.analysis import AnalysisInput, CompetitorInput, ContentStrategy, ProfileInput, ReelInput
from libs.events.catalog import ReelSnapshot
from libs.instagram import InstagramProvider, ProviderError
from libs.scoring.snapshots import profile_snapshot
from services.viral_analysis.domain import (
    Job,
    analysis_input,
    next_transcript_batch,
    pick_with_transcripts,
    profile_input,
    reel_input,
    transcript_candidates,
)
from services.viral_analysis.settings import AnalysisSettings
from tests.provider.provider_harness import StartSimulator
from tests.support.openai_stub import OpenAIStub, StubBehaviour

StartStub = Callable[..., Awaitable[OpenAIStub]]
FITNESS_STRATEGY = ContentStrategy(
    contentType="Home workouts, fat loss",
    targetAudience="Busy moms",
    goals="Grow followers and sell my coaching program",
)


@pytest.fixture
async def start_openai_stub() -> AsyncIterator[StartStub]:
    stubs: list[OpenAIStub] = []

    async def start(**behaviour: Any) -> OpenAIStub:
        stub = await OpenAIStub(StubBehaviour(**behaviour)).start()
        stubs.append(stub)
        return stub

    yield start
    for stub in stubs:
        await stub.stop()


@pytest.fixture
async def simulated_input(start_simulator: StartSimulator) -> AnalysisInput:
    """A fitness creator and three similar accounts, fetched over HTTP through the real provider client."""
    simulator = await start_simulator(seed=42)
    async with simulator.provider() as provider:
        similar = await provider.get_similar_accounts("fitwithmaya")
        names = [account.username for account in similar if not account.username.startswith("private_")][:3]
        primary, primary_reels = await fetch_creator(provider, "fitwithmaya", top=15)
        competitors = [await fetch_creator(provider, name, top=6) for name in names]
    return AnalysisInput(
        primary=primary,
        primary_reels=primary_reels,
        competitors=[CompetitorInput(profile=profile, reels=reels) for profile, reels in competitors],
        content_strategy=FITNESS_STRATEGY,
    )


async def fetch_creator(
    provider: InstagramProvider, username: str, top: int
) -> tuple[ProfileInput, list[ReelInput]]:
    """What the viral-analysis service does per creator: profile, recent reels, top reels by outlier score."""
    snapshot, scored = profile_snapshot(
        await provider.get_profile(username), await provider.get_reels(username, limit=50)
    )
    best = sorted(scored, key=lambda reel: (-reel.outlier_score, reel.content_id))[:top]
    transcripts = await asyncio.gather(*(provider.get_transcript(reel.url) for reel in best))
    return profile_input(snapshot), [
        reel_input(username, reel.model_copy(update={"transcript": transcript}))
        for reel, transcript in zip(best, transcripts, strict=True)
    ]


# A creator of each niche the simulator has (infra/simulator/vocabulary.py: a name's token picks it).
NICHE_CREATORS = ("fitwithmaya", "money.kim", "chef.ana", "travel.tom", "tech.raj", "glow.lena")


async def job_input(
    provider: InstagramProvider, primary: str, competitors: int = 5, strategy: dict[str, str] | None = None
) -> AnalysisInput:
    """The input the viral-analysis service assembles for a 1 + `competitors` job (its own domain
    functions and default settings): every fetched reel of the creator, each competitor's top reels,
    transcripts for the best outliers until enough have speech."""
    settings = AnalysisSettings()
    similar = await provider.get_similar_accounts(primary)
    names = [a.username for a in similar if a.username != primary and not a.username.startswith("private_")]
    fetched = {}
    for name in [primary, *names]:
        if len(fetched) > competitors:
            break
        try:
            profile = await provider.get_profile(name)
            reels = await provider.get_reels(name, limit=settings.analysis_reels_per_profile)
        except ProviderError:
            continue
        if not profile.is_private:
            fetched[name] = profile_snapshot(profile, reels)
    factor = settings.transcript_fallback_factor

    async def top(name: str, wanted: int) -> list[ReelSnapshot]:
        candidates = transcript_candidates(fetched[name][1], wanted, factor)
        transcripts: dict[str, str | None] = {}
        tried = 0
        while batch := next_transcript_batch(candidates, transcripts, tried, wanted):
            tried += len(batch)
            said = await asyncio.gather(*(provider.get_transcript(r.url) for r in batch))
            transcripts.update({r.shortcode: t for r, t in zip(batch, said, strict=True)})
        return pick_with_transcripts(candidates, transcripts, wanted)

    others = [name for name in fetched if name != primary]
    job = Job(
        queue_id="00000000-0000-4000-8000-000000000016", session_id="niche", primary_username=primary,
        competitors=others, content_strategy=strategy or {}, analysis_settings={}, run=1, trigger="queued",
        last_completed_at=None, auto_rerun_enabled=False, rerun_frequency_hours=24,
    )  # fmt: skip
    return analysis_input(
        job,
        fetched[primary],
        await top(primary, settings.primary_transcripts),
        {name: fetched[name] for name in others},
        {name: await top(name, settings.competitor_transcripts) for name in others},
    )
