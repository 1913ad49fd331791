"""The product's numbers: how a creator's reels perform (medians, outlier scores, engagement), and the
snapshots of profiles and reels, scored, that events carry. Provider-neutral: libs/instagram fetches."""

from .snapshots import profile_snapshot, similar_snapshot
from .stats import engagement_rate, median_views, outlier_score, profile_stats

__all__ = [
    "engagement_rate",
    "median_views",
    "outlier_score",
    "profile_snapshot",
    "profile_stats",
    "similar_snapshot",
]
