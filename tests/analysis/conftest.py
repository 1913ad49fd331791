"""Fixtures: an OpenAI-compatible stub on a free port, and analysis input fetched from the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from libs.analysis import AnalysisInput, CompetitorInput, ContentStrategy, ProfileInput, ReelInput
from libs.instagram import InstagramProvider
from libs.scoring.snapshots import profile_snapshot
from services.viral_analysis.domain import profile_input, reel_input
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
