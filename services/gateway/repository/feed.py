"""The discovery feed's SQL: one page of a FeedQuery's walk, and the filter options.

A statement is put together only from the fragments below; every value a client gave is a parameter
($n), never text of the statement. A walk is one or two segments (the items with a sort key, then
those without; or a shuffle's two halves), each an index range scan in the order of the page, resumed
from the cursor's position by keyset, `(key, content_id) < ($k, $id)`, so a deep page costs what the
first costs. infra/migrations/010_discovery_indexes.sql has the indexes each walk uses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.gateway.domain.feed import CONTENT_TYPES, DATE_RANGES, FeedQuery
from services.gateway.domain.feed_cursor import Position

_COLUMNS = (
    "content_id", "username", "shortcode", "url", "thumbnail_url", "description", "view_count",
    "like_count", "comment_count", "outlier_score", "date_posted", "creator_primary_category",
    "creator_secondary_category", "creator_tertiary_category", "category", "keywords", "language",
    "content_style", "hook_type", "post_type", "carousel_count", "transcript_available",
    "creator_followers", "creator_verified", "creator_account_type", "creator_reels", "month",
)  # fmt: skip
_SELECT = ", ".join(f"c.{column}" for column in _COLUMNS)
# Literal, not parameters: the partial indexes (WHERE post_type = 'reel' / <> 'reel') must be provable.
_KIND = {"reels": "c.post_type = 'reel'", "posts": "c.post_type <> 'reel'"}
_SORT_KEY = {
    "popular": "c.outlier_score",
    "views": "c.view_count",
    "likes": "c.like_count",
    "comments": "c.comment_count",
    "recent": "c.date_posted",
    "oldest": "c.date_posted",
    "followers": "c.creator_followers",
    "account_engagement": "c.creator_engagement_rate",
    "content_engagement": "c.engagement_rate",
    "random": "c.shuffle_key",
}
_KEY_TYPE = {int: "int8", float: "float8", datetime: "timestamptz"}
_LISTS = {
    "primary_categories": "c.creator_primary_category = ANY({})",
    "secondary_categories": "c.creator_secondary_category = ANY({})",
    "tertiary_categories": "c.creator_tertiary_category = ANY({})",
    "keywords": "c.keywords && {}",
    "account_types": "c.creator_account_type = ANY({})",
    "content_types": "c.post_type = ANY({})",
    "languages": "c.language = ANY({})",
    "content_styles": "c.content_style = ANY({})",
    "excluded_usernames": "c.username <> ALL({})",
}
_ONE = {
    name: sql.replace(" = ANY({})", " = {}").replace(" <> ALL({})", " <> {}")
    for name, sql in _LISTS.items()
    if name != "keywords"
}
_RANGES = {
    "outlier_score": ("c.outlier_score", "float8"),
    "views": ("c.view_count", "int8"),
    "likes": ("c.like_count", "int8"),
    "comments": ("c.comment_count", "int8"),
    "followers": ("c.creator_followers", "int8"),
    "account_engagement_rate": ("c.creator_engagement_rate", "float8"),
}
# A reel without a niche score: no views, or no baseline (with a median) for its category and month.
_NO_NICHE_SCORE = """(c.view_count IS NULL OR NOT EXISTS (
    SELECT 1 FROM readmodel.niche_baselines b
    WHERE b.category = c.category AND b.month = c.month AND b.median_views > 0))"""
# Within one baseline (category, month) the niche score follows the views, so the walk merges the
# baselines' reels in view order. `heads` probes each baseline's best reel (one index tuple each); the
# k-th best of those is a bar no item of the first k falls under (k baselines each hold an item at or
# over it), so only the baselines whose head clears the bar are read, and only down to the bar.
# The view bounds are what the index can range over (the score's own comparisons cannot); the casts
# are clamped so that no cursor can make them overflow a bigint.
_NICHE_SEGMENT = """WITH heads AS MATERIALIZED (
        SELECT b.category, b.month, b.median_views, h.view_count::float8 / b.median_views AS best
        FROM readmodel.niche_baselines b
        CROSS JOIN LATERAL (
            SELECT c.view_count FROM readmodel.content c
            WHERE c.category = b.category AND c.month = b.month AND c.view_count IS NOT NULL AND {conditions}
            ORDER BY c.view_count DESC, c.content_id DESC LIMIT 1) h
        WHERE b.median_views > 0 {buckets}),
    bar AS (SELECT coalesce((SELECT best FROM heads ORDER BY best DESC OFFSET {limit} - 1 LIMIT 1), 0) AS score)
    SELECT x.*, 0 AS segment, x.view_count::float8 / b.median_views AS sort_key
    FROM heads b CROSS JOIN bar
    CROSS JOIN LATERAL (
        SELECT {select} FROM readmodel.content c
        WHERE c.category = b.category AND c.month = b.month AND c.view_count IS NOT NULL AND {conditions}
          AND c.view_count >= greatest(least(floor(bar.score * b.median_views) - 1, 9e18), -1)::bigint
        ORDER BY c.view_count DESC, c.content_id DESC LIMIT {limit}) x
    WHERE b.best >= bar.score"""
_RECENT_BUCKETS = (
    "AND b.month >= date_trunc('month', (now() - make_interval(days => {days})) AT TIME ZONE 'UTC')::date"
)
_NICHE_BOUND = """c.view_count <= greatest(least(ceil({key} * b.median_views) + 1, 9e18), -1)::bigint
    AND (c.view_count::float8 / b.median_views, c.content_id) < ({key}, {content_id})"""
_CREATOR_AND_NICHE = {
    "reels": """SELECT page.*, p.profile_name, p.profile_image_url,
               CASE WHEN b.median_views > 0 THEN page.view_count::float8 / b.median_views END
                   AS niche_outlier_score,
               b.reels AS niche_reels
        FROM page
        LEFT JOIN readmodel.primary_profiles p ON p.username = page.username
        LEFT JOIN readmodel.niche_baselines b ON b.category = page.category AND b.month = page.month""",
    # Posts have no views, so no niche score.
    "posts": """SELECT page.*, p.profile_name, p.profile_image_url,
               NULL::float8 AS niche_outlier_score, NULL::integer AS niche_reels
        FROM page LEFT JOIN readmodel.primary_profiles p ON p.username = page.username""",
}
_FACETS = """SELECT facet, value, sum(items)::bigint AS items FROM readmodel.content_facets
    WHERE post_type = ANY($1::text[]) AND items > 0
    GROUP BY facet, value ORDER BY facet, items DESC, value"""


class _Statement:
    def __init__(self) -> None:
        self.args: list[Any] = []

    def arg(self, value: Any, cast: str) -> str:
        self.args.append(value)
        return f"${len(self.args)}::{cast}"


async def feed_rows(conn: asyncpg.Connection, query: FeedQuery) -> list[asyncpg.Record]:
    """Up to query.limit + 1 items of the walk, after query.after and query.offset, each with its
    `segment` and `sort_key` (the cursor's position), its creator's profile_name and profile_image_url,
    and its niche_outlier_score and niche_reels (the baseline's reel count)."""
    statement = _Statement()
    sql = feed_statement(query, statement)
    # A statement of its own each time, so it is planned for these values: a cached statement turns
    # to a generic plan after five runs, and the plan that suits one filter's values (walk the sort's
    # index) can cost a full walk for another's (a combination that matches almost nothing). Two round
    # trips; JIT, which would cost more than any page, is off on the gateway's connections (runtime).
    prepared = await conn.prepare(sql)
    return await prepared.fetch(*statement.args)


def feed_statement(query: FeedQuery, statement: _Statement) -> str:
    direction = "DESC" if query.order.descending else "ASC"
    conditions = [_KIND[query.kind], *_filters(query, statement)]
    first = query.after.segment if query.after is not None else 0
    rows = statement.arg(query.offset + query.limit + 1, "int8")
    segments = [f"s{first} AS ({_segment(query, statement, first, conditions, rows, query.after)})"]
    for segment in range(first + 1, query.segments):
        # Read only when the earlier segment could not fill the page (the count gates it).
        later = _segment(query, statement, segment, conditions, rows, None)
        segments.append(
            f"s{segment} AS (SELECT * FROM ({later}) x WHERE (SELECT count(*) FROM s{first}) < {rows})"
        )
    walk = " UNION ALL ".join(f"SELECT * FROM s{segment}" for segment in range(first, query.segments))
    order = f"segment, sort_key {direction}, content_id {direction}"
    limit, offset = statement.arg(query.limit + 1, "int8"), statement.arg(query.offset, "int8")
    page = f"page AS (SELECT * FROM ({walk}) walk ORDER BY {order} LIMIT {limit} OFFSET {offset})"
    return f"WITH {', '.join(segments)}, {page} {_CREATOR_AND_NICHE[query.kind]} ORDER BY page.{order}"


def _segment(
    query: FeedQuery,
    statement: _Statement,
    segment: int,
    conditions: list[str],
    limit: str,
    after: Position | None,
) -> str:
    """One segment of the walk, in the walk's order, from `after` on when given."""
    order = query.order
    where = list(conditions)
    direction, beyond = ("DESC", "<") if order.descending else ("ASC", ">")
    # As the index (nullable keys: DESC NULLS LAST) or backwards: else the planner cannot walk it.
    key_direction = direction
    if order.nullable:
        key_direction += " NULLS LAST" if order.descending else " NULLS FIRST"
    if query.sort == "niche_outlier":
        return (
            _niche_segment(query, statement, where, limit, after)
            if segment == 0
            else _unscored(where, statement, limit, after, direction)
        )
    key = _SORT_KEY[query.sort]
    if order.nullable and segment == 1:
        # Ordered by the (null) key too, so that the key's index serves this segment as well.
        where.append(f"{key} IS NULL")
        if after is not None:
            where.append(f"c.content_id {beyond} {statement.arg(after.content_id, 'text')}")
        return (
            f"SELECT {_SELECT}, 1 AS segment, NULL::{_KEY_TYPE[order.key]} AS sort_key FROM readmodel.content c "
            f"WHERE {' AND '.join(where)} ORDER BY {key} {key_direction}, c.content_id {direction} LIMIT {limit}"
        )
    if query.shuffle is not None:
        # The shuffle from the session's start point on, then (segment 1) the part before it.
        start = statement.arg(query.shuffle.start, "int4")
        from_start, before_start = ("<=", ">") if query.shuffle.descending else (">=", "<")
        where.append(f"{key} {from_start if segment == 0 else before_start} {start}")
    elif order.nullable:
        where.append(f"{key} IS NOT NULL")
    if after is not None:
        key_type = "int4" if query.shuffle is not None else _KEY_TYPE[order.key]
        bound = f"({statement.arg(after.key, key_type)}, {statement.arg(after.content_id, 'text')})"
        where.append(f"({key}, c.content_id) {beyond} {bound}")
    return (
        f"SELECT {_SELECT}, {segment} AS segment, {key} AS sort_key FROM readmodel.content c "
        f"WHERE {' AND '.join(where)} ORDER BY {key} {key_direction}, c.content_id {direction} LIMIT {limit}"
    )


def _niche_segment(
    query: FeedQuery, statement: _Statement, where: list[str], limit: str, after: Position | None
) -> str:
    if after is not None:
        key, content_id = statement.arg(after.key, "float8"), statement.arg(after.content_id, "text")
        where.append(_NICHE_BOUND.format(key=key, content_id=content_id))
    buckets = ""
    if query.filters.date_range is not None:
        # Only the months the range reaches: a baseline without such reels would be read through.
        buckets = _RECENT_BUCKETS.format(days=statement.arg(DATE_RANGES[query.filters.date_range], "int4"))
    return _NICHE_SEGMENT.format(select=_SELECT, conditions=" AND ".join(where), limit=limit, buckets=buckets)


def _unscored(
    where: list[str], statement: _Statement, limit: str, after: Position | None, direction: str
) -> str:
    """The reels without a niche score, by content_id (the primary key's order)."""
    where.append(_NO_NICHE_SCORE)
    if after is not None:
        where.append(f"c.content_id < {statement.arg(after.content_id, 'text')}")
    return (
        f"SELECT {_SELECT}, 1 AS segment, NULL::float8 AS sort_key FROM readmodel.content c "
        f"WHERE {' AND '.join(where)} ORDER BY c.content_id {direction} LIMIT {limit}"
    )


def _filters(query: FeedQuery, statement: _Statement) -> list[str]:
    f = query.filters
    where = []
    if f.search is not None:
        where.append(f"c.search @@ plainto_tsquery('simple', {statement.arg(f.search, 'text')})")
    for name, values in f.lists.items():
        if name == "content_types" and set(CONTENT_TYPES[query.kind]) <= set(values):
            continue  # every type of the kind: no filter
        if len(values) == 1 and name in _ONE:
            # `= $n`, not `= ANY($n)`: an equality can lead an index range in the sort's order
            # (content_feed_reels_niche_*_idx), an array cannot.
            where.append(_ONE[name].format(statement.arg(values[0], "text")))
        else:
            where.append(_LISTS[name].format(statement.arg(list(values), "text[]")))
    for name, (low, high) in f.ranges.items():
        column, cast = _RANGES[name]
        if low is not None:
            where.append(f"{column} >= {statement.arg(low, cast)}")
        if high is not None:
            where.append(f"{column} <= {statement.arg(high, cast)}")
    if f.date_range is not None:
        days = statement.arg(DATE_RANGES[f.date_range], "int4")
        where.append(f"c.date_posted >= now() - make_interval(days => {days})")
    if f.is_verified is not None:
        where.append(f"c.creator_verified = {statement.arg(f.is_verified, 'bool')}")
    return where


async def facet_counts(conn: asyncpg.Connection, post_types: tuple[str, ...]) -> list[asyncpg.Record]:
    """(facet, value, items) of the given post types, each facet's values by count then name."""
    return await conn.fetch(_FACETS, list(post_types))
