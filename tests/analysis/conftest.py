"""Fixtures: an OpenAI-compatible stub on a free port, and analysis input fetched from the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from libs.analysis import AnalysisInput, CompetitorInput, ContentStrategy, ProfileInput, ReelInput
from libs.instagram import InstagramProvider, Reel, engagement_rate, outlier_score, profile_stats
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
    profile = await provider.get_profile(username)
    reels = await provider.get_reels(username, limit=50)
    stats = profile_stats(reels)
    median = float(stats["median_views"])
    best = sorted(reels, key=lambda reel: (-outlier_score(reel.view_count, median), reel.pk))[:top]
    transcripts = await asyncio.gather(*(provider.get_transcript(reel.url) for reel in best))
    return (
        ProfileInput(
            username=username,
            profile_name=profile.full_name,
            bio=profile.biography,
            followers=profile.followers,
            median_views=median,
            mean_views=float(stats["mean_views"]),
            engagement_rate=float(stats["engagement_rate"]),
            total_reels=len(reels),
        ),
        [
            _reel_input(username, reel, transcript, median)
            for reel, transcript in zip(best, transcripts, strict=True)
        ],
    )


def _reel_input(username: str, reel: Reel, transcript: str | None, median: float) -> ReelInput:
    return ReelInput(
        content_id=reel.pk,
        shortcode=reel.shortcode,
        url=reel.url,
        username=username,
        caption=reel.caption,
        transcript=transcript,
        view_count=reel.view_count,
        like_count=reel.like_count,
        comment_count=reel.comment_count,
        outlier_score=outlier_score(reel.view_count, median),
        engagement_rate=engagement_rate(reel.like_count, reel.comment_count, reel.view_count),
        date_posted=reel.taken_at,
    )
