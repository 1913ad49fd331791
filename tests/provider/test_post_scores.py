"""Posts scored: likes over the creator's median likes of posts, and engagement per follower."""

from __future__ import annotations

from datetime import UTC, datetime

from infra.simulator.posts import posts_of
from libs.events.catalog import PostSnapshot
from libs.instagram import Post
from libs.scoring import median_likes, post_engagement_rate, post_snapshots
from tests.provider.provider_harness import NOW

TAKEN_AT = datetime(2026, 1, 1, tzinfo=UTC)


def post(likes: int, comments: int = 0, code: str = "C", **fields: object) -> Post:
    return Post.model_validate(
        {
            "pk": f"pk-{code}",
            "shortcode": code,
            "url": f"https://www.instagram.com/p/{code}/",
            "post_type": "image",
            "like_count": likes,
            "comment_count": comments,
            "taken_at": TAKEN_AT,
            **fields,
        }
    )


def test_a_posts_outlier_score_is_its_likes_over_the_creators_median_likes_rounded() -> None:
    scores = [s.outlier_score for s in post_snapshots([post(100), post(300), post(200), post(1000)])]
    # Median of 100, 200, 300, 1000 is 250.
    assert scores == [0.4, 1.2, 0.8, 4.0]
    assert [s.outlier_score for s in post_snapshots([post(100), post(200), post(700)])] == [0.5, 1.0, 3.5]
    assert post_snapshots([post(2), post(3), post(3)])[0].outlier_score == 0.67


def test_hidden_likes_score_zero_and_are_left_out_of_the_median() -> None:
    snapshots = post_snapshots([post(0), post(100), post(300), post(0)])
    assert [s.outlier_score for s in snapshots] == [0.0, 0.5, 1.5, 0.0]
    assert median_likes([0, 0]) == 0.0
    assert [s.outlier_score for s in post_snapshots([post(0), post(0)])] == [0.0, 0.0]
    assert post_snapshots([]) == []


def test_a_snapshot_carries_the_post_as_the_event_names_it() -> None:
    carousel = post(
        40,
        comments=4,
        code="Ccar",
        post_type="carousel",
        carousel_count=6,
        caption="Five slides",
        thumbnail_url="https://cdn/c.jpg",
    )
    [snapshot] = post_snapshots([carousel])
    assert snapshot == PostSnapshot(
        content_id="pk-Ccar",
        shortcode="Ccar",
        url="https://www.instagram.com/p/Ccar/",
        post_type="carousel",
        carousel_count=6,
        description="Five slides",
        like_count=40,
        comment_count=4,
        outlier_score=1.0,
        date_posted=TAKEN_AT,
        thumbnail_url="https://cdn/c.jpg",
    )
    assert post_snapshots([post(5, caption="")])[0].description is None


def test_post_engagement_rate_is_interactions_per_hundred_followers() -> None:
    assert post_engagement_rate(90, 10, 1_000) == 10.0
    assert post_engagement_rate(1, 0, 3) == 33.33
    assert post_engagement_rate(50, 5, 0) == 0.0
    assert post_engagement_rate(50, 5, None) == 0.0


def test_the_simulators_true_outliers_score_as_outliers() -> None:
    for name in ("fitwithmaya", "chef_leo", "creator3"):
        records = posts_of(42, name, int(NOW.timestamp()))
        posts = [post(0 if r.likes_hidden else r.likes, r.comments, code=r.code) for r in records]
        scored = dict(zip((r.code for r in records), post_snapshots(posts), strict=True))
        flagged = [r for r in records if r.is_outlier and not r.likes_hidden]
        assert flagged
        assert sum(scored[r.code].outlier_score >= 3 for r in flagged) >= 0.8 * len(flagged)
        ordinary = [scored[r.code].outlier_score for r in records if not r.is_outlier and not r.likes_hidden]
        assert sum(score >= 3 for score in ordinary) <= 0.05 * len(ordinary)
