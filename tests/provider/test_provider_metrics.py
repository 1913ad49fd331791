"""The product's numbers: median of counted views, outlier score, spread and engagement."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from libs.instagram import Reel
from libs.scoring import engagement_rate, median_views, outlier_score, profile_stats


def reel(views: int | None, likes: int = 0, comments: int = 0) -> Reel:
    return Reel(
        pk="1",
        shortcode="C",
        url="https://www.instagram.com/reel/C/",
        view_count=views,
        like_count=likes,
        comment_count=comments,
        taken_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_median_views_ignores_zero_and_missing_counts() -> None:
    assert median_views([100, 0, None, 300, 200]) == 200.0
    assert median_views([100, 200]) == 150.0
    assert median_views([0, None]) == 0.0
    assert median_views([]) == 0.0


def test_outlier_score_is_views_over_median_rounded() -> None:
    assert outlier_score(30_000, 10_000) == 3.0
    assert outlier_score(10_000, 3_000) == 3.33
    assert outlier_score(None, 10_000) == 0.0
    assert outlier_score(500, 0) == 0.0


def test_engagement_rate_is_interactions_per_hundred_views() -> None:
    assert engagement_rate(90, 10, 1_000) == 10.0
    assert engagement_rate(1, 0, 3) == 33.33
    assert engagement_rate(50, 5, 0) == 0.0
    assert engagement_rate(50, 5, None) == 0.0


def test_profile_stats_over_counted_views() -> None:
    reels = [reel(100, 10, 0), reel(200, 10, 10), reel(600, 30, 0), reel(None, 5, 1), reel(0, 2, 0)]
    stats = profile_stats(reels)
    assert stats["median_views"] == 200.0
    assert stats["mean_views"] == 300.0
    # Population standard deviation of 100, 200, 600.
    assert stats["std_views"] == pytest.approx(216.02, abs=0.01)
    assert stats["total_views"] == 900
    assert stats["total_likes"] == 57
    assert stats["total_comments"] == 11
    # Per-reel rates 10.0, 10.0, 5.0: the median is 10.0; reels without views have no rate.
    assert stats["engagement_rate"] == 10.0


def test_profile_stats_of_no_reels_are_zero() -> None:
    assert profile_stats([]) == {
        "median_views": 0.0,
        "mean_views": 0.0,
        "std_views": 0.0,
        "total_views": 0,
        "total_likes": 0,
        "total_comments": 0,
        "engagement_rate": 0.0,
    }
