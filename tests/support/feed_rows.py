"""Read-model rows for the discovery feed's tests, written straight into readmodel: the feed reads what
the projector writes, so its tests start from those rows (creators in primary_profiles; their reels and
posts in content, with the creator's columns copied on as the projector copies them; niche baselines
and facet counts computed from the content as the projector keeps them)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from libs.categories import CATEGORY_NAMES, CONTENT_STYLES, LANGUAGES

NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Creator:
    username: str
    primary_category: str | None = "fitness"
    secondary_category: str | None = None
    tertiary_category: str | None = None
    followers: int | None = 10_000
    verified: bool = False
    account_type: str | None = "personal"
    engagement_rate: float | None = 3.0
    reels: int = 10
    profile_name: str | None = None
    profile_image_url: str | None = None


@dataclass
class Item:
    content_id: str
    creator: Creator
    post_type: str = "reel"
    view_count: int | None = 1_000
    like_count: int = 100
    comment_count: int = 10
    outlier_score: float = 1.0
    engagement_rate: float = 11.0
    date_posted: datetime | None = field(default_factory=lambda: NOW - timedelta(days=3))
    description: str | None = None
    transcript: str | None = None
    category: str | None = "fitness"
    keywords: list[str] = field(default_factory=list)
    language: str | None = "en"
    content_style: str | None = "tutorial"
    hook_type: str | None = "question"
    carousel_count: int | None = None
    thumbnail_url: str | None = None


_CREATOR_SQL = """INSERT INTO readmodel.primary_profiles (username, profile_name, followers, is_verified,
        account_type, profile_image_url, total_reels, primary_category, secondary_category,
        tertiary_category, created_at, updated_at)
    VALUES ($1, $2, coalesce($3, 0), $4, $5, $6, $7, $8, $9, $10, $11, $11)"""
_ITEM_SQL = """INSERT INTO readmodel.content (content_id, username, shortcode, url, description, view_count,
        like_count, comment_count, outlier_score, engagement_rate, date_posted, thumbnail_url, transcript,
        transcript_available, created_at, updated_at, post_type, carousel_count, category, keywords,
        language, content_style, hook_type, creator_primary_category, creator_secondary_category,
        creator_tertiary_category, creator_followers, creator_verified, creator_account_type,
        creator_engagement_rate, creator_reels)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::text, $13::text IS NOT NULL, $14, $14,
            $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)"""
# What the projector keeps: median views of a category's reels per calendar month (UTC), and the
# number of items per (post_type, facet, value).
_BASELINES_SQL = """
    DELETE FROM readmodel.niche_baselines;
    INSERT INTO readmodel.niche_baselines (category, month, median_views, reels)
    SELECT category, month, percentile_cont(0.5) WITHIN GROUP (ORDER BY view_count), count(*)
    FROM readmodel.content
    WHERE post_type = 'reel' AND category IS NOT NULL AND month IS NOT NULL AND view_count IS NOT NULL
    GROUP BY category, month"""
_FACETS_SQL = """
    DELETE FROM readmodel.content_facets;
    INSERT INTO readmodel.content_facets (post_type, facet, value, items)
    SELECT post_type, facet, value, count(*) FROM readmodel.content,
        LATERAL (VALUES ('primary_category', creator_primary_category),
                        ('secondary_category', creator_secondary_category),
                        ('tertiary_category', creator_tertiary_category),
                        ('category', category), ('language', language), ('content_style', content_style),
                        ('account_type', creator_account_type)
                 UNION ALL SELECT 'keyword', k FROM unnest(keywords) k) AS f (facet, value)
    WHERE value IS NOT NULL
    GROUP BY post_type, facet, value"""


async def insert_creators(pool: asyncpg.Pool, creators: list[Creator]) -> None:
    await pool.executemany(
        _CREATOR_SQL,
        [
            (
                c.username,
                c.profile_name,
                c.followers,
                c.verified,
                c.account_type,
                c.profile_image_url,
                c.reels,
                c.primary_category,
                c.secondary_category,
                c.tertiary_category,
                NOW,
            )
            for c in creators
        ],
    )


async def insert_items(pool: asyncpg.Pool, items: list[Item]) -> None:
    await pool.executemany(
        _ITEM_SQL,
        [
            (
                i.content_id,
                i.creator.username,
                f"sc{i.content_id}",
                f"https://www.instagram.com/reel/sc{i.content_id}/",
                i.description,
                i.view_count,
                i.like_count,
                i.comment_count,
                i.outlier_score,
                i.engagement_rate,
                i.date_posted,
                i.thumbnail_url,
                i.transcript,
                NOW,
                i.post_type,
                i.carousel_count,
                i.category,
                i.keywords,
                i.language,
                i.content_style,
                i.hook_type,
                i.creator.primary_category,
                i.creator.secondary_category,
                i.creator.tertiary_category,
                i.creator.followers,
                i.creator.verified,
                i.creator.account_type,
                i.creator.engagement_rate,
                i.creator.reels,
            )
            for i in items
        ],
    )


async def refresh_baselines(pool: asyncpg.Pool) -> None:
    await pool.execute(_BASELINES_SQL)


async def refresh_facets(pool: asyncpg.Pool) -> None:
    await pool.execute(_FACETS_SQL)


async def seed(pool: asyncpg.Pool, creators: list[Creator], items: list[Item]) -> None:
    await insert_creators(pool, creators)
    await insert_items(pool, items)
    await refresh_baselines(pool)
    await refresh_facets(pool)


WORDS = ("protein", "squats", "pasta", "budget", "beach", "python", "glow", "story", "quick", "secret")
KEYWORDS = ("workout", "recipe", "money", "travel", "coding", "skincare")


def varied_set(creators: int = 12, items: int = 160, seed: int = 13) -> tuple[list[Creator], list[Item]]:
    """A deterministic mix of creators and items with every filter's values, ties on every sort key
    (so the content_id tie-break shows) and the nulls each sort puts last."""
    rng = random.Random(seed)
    people = [
        Creator(
            username=f"creator_{n:02d}",
            primary_category=CATEGORY_NAMES[n % 4],
            secondary_category=CATEGORY_NAMES[(n + 5) % 7] if n % 3 else None,
            tertiary_category=CATEGORY_NAMES[(n + 9) % 5] if n % 2 else None,
            followers=None if n == 5 else rng.choice((800, 5_000, 20_000, 150_000, 2_000_000)),
            verified=n % 4 == 1,
            account_type="business" if n % 3 == 0 else "personal",
            engagement_rate=None if n == 7 else rng.choice((1.5, 3.0, 4.25, 8.0)),
            reels=rng.choice((2, 4, 12, 40)),
            profile_name=f"Creator {n}",
            profile_image_url=f"https://img.example/{n}.jpg",
        )
        for n in range(creators)
    ]
    made = []
    for n in range(items):
        post_type = "reel" if n % 5 else rng.choice(("image", "carousel"))
        views = None if post_type != "reel" or n % 17 == 3 else rng.choice((0, 900, 1_000, 12_000, 250_000))
        likes = rng.choice((0, 50, 100, 2_000))
        comments = rng.choice((0, 5, 10, 80))
        made.append(
            Item(
                content_id=str(3_000_000 + n * 7919 % 1_000_003),
                creator=people[n % creators],
                post_type=post_type,
                view_count=views,
                like_count=likes,
                comment_count=comments,
                outlier_score=rng.choice((0.5, 1.0, 2.5, 7.0)),
                engagement_rate=rng.choice((0.0, 2.0, 5.5)),
                date_posted=None
                if n % 23 == 4
                else NOW - timedelta(days=rng.choice((1, 5, 20, 45, 100, 200, 400))),
                description=" ".join(rng.sample(WORDS, 3)),
                transcript=" ".join(rng.sample(WORDS, 2)) if n % 4 == 0 else None,
                category=None if n % 11 == 6 else CATEGORY_NAMES[n % 3],
                keywords=rng.sample(KEYWORDS, n % 3),
                language=None if n % 19 == 2 else LANGUAGES[n % 3],
                content_style=CONTENT_STYLES[n % 4],
                carousel_count=3 if post_type == "carousel" else None,
                thumbnail_url=f"https://img.example/t{n}.jpg",
            )
        )
    return people, made
