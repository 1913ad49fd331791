"""What the discovery feed reads beside the content rows, kept at the end of every batch from the rows
the batch touched: the creator's columns on their content rows, content_facets (how many items carry
each filter value) and niche_baselines (median views of a category's reels in a month).

The totals are kept by difference: what the touched rows contributed before the batch (`before`) is
taken away and what they contribute after it is added (`after`), in a few set-based statements per
batch, so they always equal the GROUP BY over the content table. Batches of one schema are applied one
at a time (repository.project_into), which keeps the differences exact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from services.projector.domain import CREATOR_COLUMNS, TouchedContent

# What the totals read of a content row.
_COLUMNS = """c.content_id, c.post_type, c.category, c.month, c.view_count, c.keywords, c.language,
              c.content_style, c.creator_primary_category, c.creator_secondary_category,
              c.creator_tertiary_category, c.creator_account_type"""


def _by_key(column: str, keys: str) -> str:
    """The content rows whose `column` is one of `keys`, each key looked up by its index: a few thousand
    rows out of a million, which a planner short of statistics (a fresh schema) would scan for."""
    return f"""unnest({keys}::text[]) AS k(key) CROSS JOIN LATERAL (
                   SELECT {_COLUMNS} FROM content c WHERE c.{column} = k.key OFFSET 0) c"""


# One (facet, value) per filter value a content row carries; the facets are those of content_facets.
_FACET_VALUES = """CROSS JOIN LATERAL (
        SELECT * FROM (VALUES ('primary_category', c.creator_primary_category),
                              ('secondary_category', c.creator_secondary_category),
                              ('tertiary_category', c.creator_tertiary_category),
                              ('category', c.category), ('language', c.language),
                              ('content_style', c.content_style), ('account_type', c.creator_account_type)) v
        UNION ALL SELECT 'keyword', k FROM unnest(c.keywords) k) f(facet, value)"""

# A reel counts towards its niche's median when it has a category, a month and views.
_IN_NICHE = "c.post_type = 'reel' AND c.category IS NOT NULL AND c.month IS NOT NULL AND c.view_count > 0"

# The creator's rows and the rows named, each found by its index.
_BEFORE = f"""
    WITH touched AS MATERIALIZED (
        SELECT c.* FROM {_by_key("username", "$1")} UNION SELECT c.* FROM {_by_key("content_id", "$2")}),
    facets AS (SELECT c.post_type, f.facet, f.value, count(*)::int AS items FROM touched c {_FACET_VALUES}
               WHERE f.value IS NOT NULL GROUP BY 1, 2, 3),
    niche AS (SELECT c.content_id, c.category, c.month, c.view_count FROM touched c WHERE {_IN_NICHE})
    SELECT (SELECT coalesce(array_agg(content_id), '{{}}') FROM touched) AS held,
           (SELECT coalesce(array_agg(post_type), '{{}}') FROM facets) AS post_types,
           (SELECT coalesce(array_agg(facet), '{{}}') FROM facets) AS facets,
           (SELECT coalesce(array_agg(value), '{{}}') FROM facets) AS "values",
           (SELECT coalesce(array_agg(items), '{{}}') FROM facets) AS items,
           (SELECT coalesce(array_agg(content_id), '{{}}') FROM niche) AS content_ids,
           (SELECT coalesce(array_agg(category), '{{}}') FROM niche) AS categories,
           (SELECT coalesce(array_agg(month), '{{}}') FROM niche) AS months,
           (SELECT coalesce(array_agg(view_count), '{{}}') FROM niche) AS views"""

# Every row carries its own creator's profile values: those of a profile the batch changed are put right
# (usually none: rows are written with them).
_COPY_CREATOR = f"""
    WITH stale AS (
        SELECT c.content_id, {", ".join(f"p.{column}" for _, column in CREATOR_COLUMNS)}
        FROM primary_profiles p CROSS JOIN LATERAL (
            SELECT c.content_id, {", ".join(f"c.{c}" for c, _ in CREATOR_COLUMNS)} FROM content c
            WHERE c.username = p.username OFFSET 0) c
        WHERE p.username = ANY($1::text[])
          AND ({", ".join(f"c.{c}" for c, _ in CREATOR_COLUMNS)})
              IS DISTINCT FROM ({", ".join(f"p.{column}" for _, column in CREATOR_COLUMNS)}))
    UPDATE content c SET {", ".join(f"{c} = s.{column}" for c, column in CREATOR_COLUMNS)}
    FROM stale s WHERE c.content_id = s.content_id"""

_TOUCHED = f"touched AS MATERIALIZED (SELECT c.* FROM {_by_key('content_id', '$1')})"

# A value no item carries any more leaves the table, as it would leave the GROUP BY.
_FACETS = f"""
    WITH {_TOUCHED},
    now AS (SELECT c.post_type, f.facet, f.value, count(*)::int AS items FROM touched c {_FACET_VALUES}
            WHERE f.value IS NOT NULL GROUP BY 1, 2, 3),
    was AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) AS w(post_type, facet, value, items)),
    delta AS (SELECT post_type, facet, value, sum(items)::int AS items
              FROM (SELECT * FROM now UNION ALL SELECT post_type, facet, value, -items FROM was) d
              GROUP BY 1, 2, 3 HAVING sum(items) <> 0),
    held AS (SELECT d.post_type, d.facet, d.value, d.items AS delta, f.items AS held
             FROM delta d LEFT JOIN content_facets f USING (post_type, facet, value)),
    emptied AS (DELETE FROM content_facets f USING held h
                WHERE (f.post_type, f.facet, f.value) = (h.post_type, h.facet, h.value) AND h.held + h.delta = 0),
    changed AS (UPDATE content_facets f SET items = h.held + h.delta FROM held h
                WHERE (f.post_type, f.facet, f.value) = (h.post_type, h.facet, h.value) AND h.held + h.delta <> 0)
    INSERT INTO content_facets (post_type, facet, value, items)
    SELECT post_type, facet, value, delta FROM held WHERE held IS NULL"""

# The buckets whose reels changed (a reel added, its category, month or views changed), each recomputed
# from its reels (content_feed_reels_niche_idx hands over a bucket's views); a bucket left without reels
# is deleted.
_BASELINES = f"""
    WITH {_TOUCHED},
    now AS (SELECT c.content_id, c.category, c.month, c.view_count FROM touched c WHERE {_IN_NICHE}),
    was AS (SELECT * FROM unnest($2::text[], $3::text[], $4::date[], $5::bigint[])
                              AS w(content_id, category, month, view_count)),
    moved AS (SELECT w.category AS was_category, w.month AS was_month, n.category, n.month
              FROM was w FULL JOIN now n ON n.content_id = w.content_id
              WHERE (w.category, w.month, w.view_count) IS DISTINCT FROM (n.category, n.month, n.view_count)),
    buckets AS (SELECT was_category AS category, was_month AS month FROM moved WHERE was_category IS NOT NULL
                UNION SELECT category, month FROM moved WHERE category IS NOT NULL),
    computed AS (SELECT b.category, b.month, m.median_views, m.reels FROM buckets b CROSS JOIN LATERAL (
                     SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY c.view_count) AS median_views,
                            count(*)::int AS reels
                     FROM content c WHERE c.category = b.category AND c.month = b.month AND {_IN_NICHE}) m
                 WHERE m.reels > 0),
    emptied AS (DELETE FROM niche_baselines n USING buckets b
                WHERE n.category = b.category AND n.month = b.month
                  AND NOT EXISTS (SELECT 1 FROM computed x WHERE x.category = b.category AND x.month = b.month))
    INSERT INTO niche_baselines (category, month, median_views, reels) SELECT * FROM computed
    ON CONFLICT (category, month) DO UPDATE SET median_views = EXCLUDED.median_views, reels = EXCLUDED.reels"""


@dataclass(frozen=True)
class Contributions:
    """The touched rows held before the batch, and what they counted for: per (post_type, facet,
    value), and each reel's place in its niche."""

    held: list[str]
    post_types: list[str]
    facets: list[str]
    values: list[str]
    items: list[int]
    content_ids: list[str]
    categories: list[str]
    months: list[date]
    views: list[int]


async def before(conn: asyncpg.Connection, touched: TouchedContent) -> Contributions:
    row = await conn.fetchrow(_BEFORE, touched.usernames, touched.content_ids)
    return Contributions(**dict(row))


async def after(conn: asyncpg.Connection, touched: TouchedContent, was: Contributions | None) -> None:
    """`was` None: the creator's columns only, the totals left to `recount` (a fresh schema's replay)."""
    await conn.execute(_COPY_CREATOR, touched.profiles)
    if was is None:
        return
    # The rows held then, and those the batch added (every new row is one its events name).
    ids = sorted(set(was.held).union(touched.content_ids))
    await conn.execute(_FACETS, ids, was.post_types, was.facets, was.values, was.items)
    await conn.execute(_BASELINES, ids, was.content_ids, was.categories, was.months, was.views)


# The totals as the GROUP BY over every content row, which the differences above keep them equal to.
_ALL_FACETS = f"""
    INSERT INTO content_facets (post_type, facet, value, items)
    SELECT c.post_type, f.facet, f.value, count(*)::int FROM content c {_FACET_VALUES}
    WHERE f.value IS NOT NULL GROUP BY 1, 2, 3"""
_ALL_BASELINES = f"""
    INSERT INTO niche_baselines (category, month, median_views, reels)
    SELECT c.category, c.month, percentile_cont(0.5) WITHIN GROUP (ORDER BY c.view_count), count(*)::int
    FROM content c WHERE {_IN_NICHE} GROUP BY 1, 2"""


async def recount(conn: asyncpg.Connection) -> None:
    """The totals counted afresh from the content rows: once at the end of a fresh schema's replay,
    rather than by difference at every batch (a niche's median is recomputed over all its reels each
    time one of them changes, which grows with the table)."""
    await conn.execute("DELETE FROM content_facets")
    await conn.execute(_ALL_FACETS)
    await conn.execute("DELETE FROM niche_baselines")
    await conn.execute(_ALL_BASELINES)
