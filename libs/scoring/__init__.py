"""The product's numbers: how a creator's reels and posts perform (medians, outlier scores, engagement),
and the snapshots of profiles, reels and posts, scored, that events carry. Provider-neutral:
libs/instagram fetches."""

from .snapshots import post_snapshots, profile_snapshot, similar_snapshot
from .stats import (
    engagement_rate,
    median_likes,
    median_views,
    outlier_score,
    post_engagement_rate,
    post_outlier_score,
    profile_stats,
)

__all__ = [
    "engagement_rate",
    "median_likes",
    "median_views",
    "outlier_score",
    "post_engagement_rate",
    "post_outlier_score",
    "post_snapshots",
    "profile_snapshot",
    "profile_stats",
    "similar_snapshot",
]
