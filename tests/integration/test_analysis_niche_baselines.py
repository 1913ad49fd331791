"""viral-analysis reads each reel's niche baseline from the read model in one indexed query: the reel's own
category, else its creator's primary one, and the median of that category's reels in the reel's month."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg

from services.viral_analysis.domain import NicheBaseline
from services.viral_analysis.repository import niche_baselines

AT = datetime(2026, 2, 10, tzinfo=UTC)


async def test_a_reel_gets_its_own_category_else_its_creators_and_none_without_a_baseline(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute(
        """INSERT INTO readmodel.content (content_id, username, shortcode, url, view_count, date_posted,
                                          created_at, updated_at, category)
           VALUES ('c1', 'amy', 's1', 'u1', 900, $1, $1, $1, 'fitness'),
                  ('c2', 'amy', 's2', 'u2', 100, $1, $1, $1, NULL)""",
        AT,
    )
    await pool.execute(
        """INSERT INTO readmodel.primary_profiles (username, created_at, updated_at, primary_category)
           VALUES ('bob', $1, $1, 'cooking')""",
        AT,
    )
    await pool.execute(
        """INSERT INTO readmodel.niche_baselines (category, month, median_views, reels) VALUES
           ('fitness', '2026-02-01', 300, 60), ('cooking', '2026-02-01', 50, 7), ('fitness', '2026-01-01', 0, 3)"""
    )
    february, january = date(2026, 2, 1), date(2026, 1, 1)
    found = await niche_baselines(
        pool,
        [("c1", "amy", february), ("c2", "amy", february), ("c9", "bob", february), ("c3", "amy", january),
         ("c4", "zed", february)],
    )  # fmt: skip
    # c2 has no category and amy none on record; c3's month has no usable median; zed is unknown.
    assert found == {"c1": NicheBaseline("fitness", 300.0, 60), "c9": NicheBaseline("cooking", 50.0, 7)}
    assert await niche_baselines(pool, []) == {}
