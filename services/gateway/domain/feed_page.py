"""A feed page as the API answers it, assembled from the rows the repository found (no I/O here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from libs.categories import CONFIDENT_CREATOR_REELS, CONFIDENT_NICHE_REELS
from services.gateway.domain.feed import FeedQuery
from services.gateway.domain.feed_cursor import Position, encode_cursor

Row = Mapping[str, Any]


def score_confidence(creator_reels: int | None, niche_reels: int | None) -> str | None:
    """ViralVault's cold-start rule: a score over few reels of the creator or of the niche is "low";
    null without a niche baseline."""
    if niche_reels is None:
        return None
    if (creator_reels or 0) < CONFIDENT_CREATOR_REELS or niche_reels < CONFIDENT_NICHE_REELS:
        return "low"
    return "high"


def feed_page(query: FeedQuery, rows: Sequence[Row]) -> dict[str, Any]:
    """{reels|posts, isLastPage, next_cursor} from up to limit + 1 rows (one more than the page tells
    whether another follows)."""
    page = rows[: query.limit]
    more = len(rows) > query.limit
    next_cursor = None
    if more:
        last = page[-1]
        position = Position(last["segment"], last["sort_key"], last["content_id"])
        next_cursor = encode_cursor(query.sort, query.fingerprint, position)
    return {
        query.kind: [feed_item(query, row) for row in page],
        "isLastPage": not more,
        "next_cursor": next_cursor,
    }


def feed_item(query: FeedQuery, row: Row) -> dict[str, Any]:
    item = {
        "content_id": row["content_id"],
        "shortcode": row["shortcode"],
        "url": row["url"],
        "thumbnail_url": row["thumbnail_url"],
        "description": row["description"],
        "view_count": row["view_count"],
        "like_count": row["like_count"],
        "comment_count": row["comment_count"],
        "outlier_score": row["outlier_score"],
        # Rounded as outlier_score is (libs.scoring); the sort and the cursor use the exact value.
        "niche_outlier_score": _rounded(row["niche_outlier_score"]),
        "score_confidence": score_confidence(row["creator_reels"], row["niche_reels"]),
        "date_posted": _iso(row["date_posted"]),
        "primary_category": row["creator_primary_category"],
        "secondary_category": row["creator_secondary_category"],
        "tertiary_category": row["creator_tertiary_category"],
        "category": row["category"],
        "keywords": list(row["keywords"] or ()),
        "language": row["language"],
        "content_style": row["content_style"],
        "hook_type": row["hook_type"],
        "post_type": row["post_type"],
        "transcript_available": row["transcript_available"],
        "creator": {
            "username": row["username"],
            "profile_name": row["profile_name"],
            "followers": row["creator_followers"],
            "is_verified": row["creator_verified"],
            "account_type": row["creator_account_type"],
            "profile_image_url": row["profile_image_url"],
        },
    }
    if query.kind == "posts":
        item["carousel_count"] = row["carousel_count"]
    return item


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _rounded(score: float | None) -> float | None:
    return None if score is None else round(score, 2)
