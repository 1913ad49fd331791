"""One profile's answers from the provider: the profile, its reels and its similar accounts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from libs.instagram import AccountPrivate, InstagramProvider, ProviderError
from libs.instagram.models import Profile, Reel, SimilarAccount
from services.profile_ingest.settings import IngestSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Fetched:
    profile: Profile
    reels: list[Reel]
    similar: list[SimilarAccount]


async def fetch_profile(provider: InstagramProvider, settings: IngestSettings, username: str) -> Fetched:
    """The profile first: an unknown or private account fails there, before any reel is fetched."""
    profile = await provider.get_profile(username)
    if profile.is_private:
        raise AccountPrivate(username)
    reels, similar = await asyncio.gather(
        provider.get_reels(username, limit=settings.ingest_reels_limit),
        _similar(provider, settings, username),
    )
    return Fetched(profile, reels, similar)


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
