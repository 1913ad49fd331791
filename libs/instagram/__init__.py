"""Async client for the Instagram scraper and transcript APIs, and the numbers we compute from them."""

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
from .metrics import engagement_rate, median_views, outlier_score, profile_stats
from .models import Profile, Reel, SimilarAccount

__all__ = [
    "AccountNotFound",
    "AccountPrivate",
    "InstagramProvider",
    "MediaNotFound",
    "Profile",
    "ProviderBadResponse",
    "ProviderError",
    "ProviderRateLimited",
    "ProviderRejected",
    "ProviderUnavailable",
    "Reel",
    "SimilarAccount",
    "account_username",
    "engagement_rate",
    "median_views",
    "outlier_score",
    "profile_stats",
    "reel_shortcode",
]
