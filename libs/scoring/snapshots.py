"""Provider answers turned into the event payloads every service shares (scored against the creator)."""

from __future__ import annotations

from libs.events.catalog import PostSnapshot, ProfileSnapshot, ReelSnapshot, SimilarAccount
from libs.instagram.models import Post, Profile, Reel
from libs.instagram.models import SimilarAccount as ProviderSimilar
from libs.scoring.stats import engagement_rate, median_likes, outlier_score, post_outlier_score, profile_stats


def profile_snapshot(profile: Profile, reels: list[Reel]) -> tuple[ProfileSnapshot, list[ReelSnapshot]]:
    """The profile with its per-creator statistics, and each reel scored against the creator's median."""
    stats = profile_stats(reels)
    median = float(stats["median_views"])
    snapshot = ProfileSnapshot(
        username=profile.username,
        profile_name=profile.full_name or None,
        bio=profile.biography or None,
        followers=profile.followers,
        following=profile.following,
        posts_count=profile.posts_count,
        is_verified=profile.is_verified,
        is_private=profile.is_private,
        account_type=profile.account_type,
        profile_image_url=profile.profile_pic_url,
        total_reels=len(reels),
        **stats,  # type: ignore[arg-type]
    )
    scored = [
        ReelSnapshot(
            content_id=reel.pk,
            shortcode=reel.shortcode,
            url=reel.url,
            description=reel.caption or None,
            view_count=reel.view_count,
            like_count=reel.like_count,
            comment_count=reel.comment_count,
            outlier_score=outlier_score(reel.view_count, median),
            engagement_rate=engagement_rate(reel.like_count, reel.comment_count, reel.view_count),
            date_posted=reel.taken_at,
            thumbnail_url=reel.thumbnail_url,
        )
        for reel in reels
    ]
    return snapshot, scored


def post_snapshots(posts: list[Post]) -> list[PostSnapshot]:
    """Each image or carousel post scored against the creator's median likes over these posts."""
    median = median_likes(post.like_count for post in posts)
    return [
        PostSnapshot(
            content_id=post.pk,
            shortcode=post.shortcode,
            url=post.url,
            post_type=post.post_type,
            carousel_count=max(1, post.carousel_count),
            description=post.caption or None,
            like_count=post.like_count,
            comment_count=post.comment_count,
            outlier_score=post_outlier_score(post.like_count, median),
            date_posted=post.taken_at,
            thumbnail_url=post.thumbnail_url,
        )
        for post in posts
    ]


def similar_snapshot(accounts: list[ProviderSimilar]) -> list[SimilarAccount]:
    return [
        SimilarAccount(
            username=a.username,
            full_name=a.full_name or None,
            followers=a.followers,
            is_private=a.is_private,
            is_verified=a.is_verified,
            profile_image_url=a.profile_pic_url,
        )
        for a in accounts
    ]
