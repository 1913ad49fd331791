"""How a creator's reels and posts perform: the product's numbers, as pure functions.

A zero or missing view count means the provider did not report views, not that nobody watched,
so those reels are left out of every view statistic.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Protocol


class ReelNumbers(Protocol):
    @property
    def view_count(self) -> int | None: ...
    @property
    def like_count(self) -> int: ...
    @property
    def comment_count(self) -> int: ...


def median_views(views: Iterable[int | None]) -> float:
    counted = _counted(views)
    return float(statistics.median(counted)) if counted else 0.0


def outlier_score(view_count: int | None, median: float) -> float:
    """How many times the creator's median a reel got; 3 and above is the usual outlier line."""
    if not view_count or median <= 0:
        return 0.0
    return round(view_count / median, 2)


def engagement_rate(likes: int, comments: int, views: int | None) -> float:
    """Likes and comments per hundred views."""
    if not views:
        return 0.0
    return round((likes + comments) / views * 100, 2)


def median_likes(likes: Iterable[int]) -> float:
    """Over the posts that show likes: zero means the creator hid them, as a missing view count does."""
    counted = [like for like in likes if like]
    return float(statistics.median(counted)) if counted else 0.0


def post_outlier_score(like_count: int, median: float) -> float:
    """Posts have no views, so a post is scored by its likes over the creator's median likes of posts."""
    return outlier_score(like_count, median)


def post_engagement_rate(likes: int, comments: int, followers: int | None) -> float:
    """Likes and comments per hundred followers: a post has no views to divide by."""
    if not followers or followers <= 0:
        return 0.0
    return round((likes + comments) / followers * 100, 2)


def profile_stats(reels: Sequence[ReelNumbers]) -> dict[str, float | int]:
    counted = _counted(reel.view_count for reel in reels)
    rates = [
        engagement_rate(reel.like_count, reel.comment_count, reel.view_count)
        for reel in reels
        if reel.view_count
    ]
    return {
        "median_views": median_views(counted),
        "mean_views": round(statistics.fmean(counted), 2) if counted else 0.0,
        "std_views": round(statistics.pstdev(counted), 2) if counted else 0.0,
        "total_views": sum(counted),
        "total_likes": sum(reel.like_count for reel in reels),
        "total_comments": sum(reel.comment_count for reel in reels),
        "engagement_rate": round(statistics.median(rates), 2) if rates else 0.0,
    }


def _counted(views: Iterable[int | None]) -> list[int]:
    return [view for view in views if view]
