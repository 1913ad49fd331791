"""Async client for the Instagram scraper and transcript APIs: a pure provider adapter (typed answers,
retries, rate limit, typed errors). The numbers we compute from its answers live in libs/scoring."""

from .client import InstagramProvider, account_username, reel_shortcode
from .errors import (
    AccountNotFound,
    AccountPrivate,
    MediaNotFound,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from .models import Post, Profile, Reel, SimilarAccount

__all__ = [
    "AccountNotFound",
    "AccountPrivate",
    "InstagramProvider",
    "MediaNotFound",
    "Post",
    "Profile",
    "ProviderBadResponse",
    "ProviderError",
    "ProviderRateLimited",
    "ProviderRejected",
    "ProviderUnavailable",
    "Reel",
    "SimilarAccount",
    "account_username",
    "reel_shortcode",
]
