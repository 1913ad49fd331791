"""The projector's discovery events for tests (a creator's ingestion with reels and posts, their
categorisations), appended to the store and applied in chosen batches, and the discovery totals computed
directly from the content table to compare the projector's with."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from libs.events import Envelope, EventStore, NewEvent
from libs.events.catalog import (
    Event,
    PostSnapshot,
    ProfileCategorised,
    ProfileIngested,
    ProfileSnapshot,
    ReelCategories,
    ReelsCategorised,
    ReelSnapshot,
    profile_stream,
)
from services.projector.handlers import Projector

APRIL = datetime(2026, 4, 10, 12, tzinfo=UTC)


def reel(content_id: str, views: int | None, posted: datetime = APRIL, **extra: Any) -> ReelSnapshot:
    return ReelSnapshot(
        content_id=content_id,
        shortcode=f"s{content_id}",
        url=f"https://instagram.example/reel/{content_id}",
        description=extra.pop("description", f"reel {content_id}"),
        view_count=views,
        like_count=extra.pop("like_count", 10),
        comment_count=extra.pop("comment_count", 2),
        outlier_score=extra.pop("outlier_score", 1.0),
        date_posted=posted,
        **extra,
    )


def post(
    content_id: str, likes: int, comments: int = 0, carousel: int | None = None, **extra: Any
) -> PostSnapshot:
    return PostSnapshot(
        content_id=content_id,
        shortcode=f"p{content_id}",
        url=f"https://instagram.example/p/{content_id}",
        post_type="carousel" if carousel else "image",
        carousel_count=carousel or 1,
        like_count=likes,
        comment_count=comments,
        outlier_score=extra.pop("outlier_score", 1.0),
        date_posted=extra.pop("date_posted", APRIL),
        **extra,
    )


def ingested(
    username: str,
    reels: Sequence[ReelSnapshot] = (),
    posts: Sequence[PostSnapshot] = (),
    followers: int = 1000,
    **profile: Any,
) -> ProfileIngested:
    snapshot = ProfileSnapshot(
        username=username,
        followers=followers,
        total_reels=len(reels),
        account_type=profile.pop("account_type", "personal"),
        **profile,
    )
    return ProfileIngested(
        username=username,
        request_id=f"r-{username}",
        attempts=1,
        duration_ms=1,
        profile=snapshot,
        reels=list(reels),
        posts=list(posts),
    )


def creator_categorised(
    username: str, primary: str, secondary: str | None = None, tertiary: str | None = None, **extra: Any
) -> ProfileCategorised:
    return ProfileCategorised(
        username=username,
        primary_category=primary,  # type: ignore[arg-type]
        secondary_category=secondary,  # type: ignore[arg-type]
        tertiary_category=tertiary,  # type: ignore[arg-type]
        keywords=extra.pop("keywords", [primary]),
        language=extra.pop("language", "en"),
        classifier=extra.pop("classifier", "test-1"),
        **extra,
    )


def categories(content_id: str, category: str, **extra: Any) -> ReelCategories:
    return ReelCategories(
        content_id=content_id,
        category=category,  # type: ignore[arg-type]
        keywords=extra.pop("keywords", [category]),
        language=extra.pop("language", "en"),
        content_style=extra.pop("content_style", "tutorial"),
        hook_type=extra.pop("hook_type", "question"),
    )


def reels_categorised(username: str, *reels: ReelCategories) -> ReelsCategorised:
    return ReelsCategorised(username=username, classifier="test-1", reels=list(reels))


async def append(
    conn: asyncpg.Connection,
    username: str,
    *events: Event,
    at: datetime | None = None,
    stream: str | None = None,
) -> list[Envelope]:
    """Appended at the end of the creator's stream (or `stream`), as profile-ingest would."""
    news = [NewEvent(event=e) if at is None else NewEvent(event=e, occurred_at=at) for e in events]
    return await EventStore(producer="profile-ingest").append(
        conn, stream or profile_stream(username), news, expected_version=None
    )


async def deliver(conn: asyncpg.Connection, projector: Projector, envelopes: Iterable[Envelope]) -> None:
    """One batch, in one transaction, as the consumer delivers it."""
    async with conn.transaction():
        await projector.apply_batch(conn, [(e, e.event()) for e in envelopes])


async def facets_counted(
    conn: asyncpg.Connection, schema: str = "readmodel"
) -> list[tuple[str, str, str, int]]:
    """content_facets as a GROUP BY over the content rows would give it."""
    rows = await conn.fetch(
        f"""SELECT post_type, facet, value, count(*) AS items FROM (
                SELECT post_type, 'primary_category' AS facet, creator_primary_category AS value
                FROM {schema}.content
                UNION ALL SELECT post_type, 'secondary_category', creator_secondary_category FROM {schema}.content
                UNION ALL SELECT post_type, 'tertiary_category', creator_tertiary_category FROM {schema}.content
                UNION ALL SELECT post_type, 'category', category FROM {schema}.content
                UNION ALL SELECT post_type, 'keyword', unnest(keywords) FROM {schema}.content
                UNION ALL SELECT post_type, 'language', language FROM {schema}.content
                UNION ALL SELECT post_type, 'content_style', content_style FROM {schema}.content
                UNION ALL SELECT post_type, 'account_type', creator_account_type FROM {schema}.content) f
            WHERE value IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
    )
    return [tuple(r) for r in rows]


async def facets_kept(conn: asyncpg.Connection, schema: str = "readmodel") -> list[tuple[str, str, str, int]]:
    rows = await conn.fetch(
        f"SELECT post_type, facet, value, items FROM {schema}.content_facets ORDER BY 1, 2, 3"
    )
    return [tuple(r) for r in rows]


async def baselines_counted(conn: asyncpg.Connection, schema: str = "readmodel") -> list[tuple[Any, ...]]:
    """niche_baselines as a direct percentile over the categorised reels with views would give it."""
    rows = await conn.fetch(
        f"""SELECT category, month, percentile_cont(0.5) WITHIN GROUP (ORDER BY view_count) AS median_views,
                   count(*) AS reels
            FROM {schema}.content WHERE post_type = 'reel' AND category IS NOT NULL AND view_count > 0
                                    AND date_posted IS NOT NULL
            GROUP BY 1, 2 ORDER BY 1, 2"""
    )
    return [tuple(r) for r in rows]


async def baselines_kept(conn: asyncpg.Connection, schema: str = "readmodel") -> list[tuple[Any, ...]]:
    rows = await conn.fetch(
        f"SELECT category, month, median_views, reels FROM {schema}.niche_baselines ORDER BY 1, 2"
    )
    return [tuple(r) for r in rows]
