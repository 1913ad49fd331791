"""One profile's answers from the provider: the profile, its reels and posts, and its similar accounts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from libs.instagram import AccountPrivate, InstagramProvider, ProviderError
from libs.instagram.models import Post, Profile, Reel, SimilarAccount
from services.profile_ingest.settings import IngestSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Fetched:
    profile: Profile
    reels: list[Reel]
    similar: list[SimilarAccount]
    posts: list[Post]


async def fetch_profile(provider: InstagramProvider, settings: IngestSettings, username: str) -> Fetched:
    """The profile first: an unknown or private account fails there, before any reel is fetched."""
    profile = await provider.get_profile(username)
    if profile.is_private:
        raise AccountPrivate(username)
    reels, similar, posts = await asyncio.gather(
        provider.get_reels(username, limit=settings.ingest_reels_limit),
        _similar(provider, settings, username),
        _posts(provider, settings, username),
    )
    return Fetched(profile, reels, similar, posts)


async def _similar(
    provider: InstagramProvider, settings: IngestSettings, username: str
) -> list[SimilarAccount]:
    """Similar accounts feed the crawler; their absence never fails the profile itself."""
    if not settings.ingest_fetch_similar:
        return []
    try:
        return await provider.get_similar_accounts(username)
    except ProviderError as exc:
        log.warning("ingest.similar_accounts_unavailable", username=username, error=str(exc))
        return []


async def _posts(provider: InstagramProvider, settings: IngestSettings, username: str) -> list[Post]:
    """Posts feed the discovery feed beside the reels; like similar accounts, their absence never fails
    the profile itself."""
    if settings.ingest_posts_limit == 0:
        return []
    try:
        # One page: its call runs beside the reels', so posts add no wait to the profile's ingestion.
        return await provider.get_posts(username, limit=settings.ingest_posts_limit, max_pages=1)
    except ProviderError as exc:
        log.warning("ingest.posts_unavailable", username=username, error=str(exc))
        return []
