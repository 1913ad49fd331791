"""`viralspot readmodels rebuild/compare` on a database filled by real flows."""

from __future__ import annotations

import asyncpg

from tests.ops.conftest import Filled, projector_caught_up, viralspot
from tests.support import infra
from tests.support.projector import (
    append,
    baselines_counted,
    baselines_kept,
    categories,
    creator_categorised,
    facets_counted,
    facets_kept,
    ingested,
    post,
    reel,
    reels_categorised,
)

SCHEMA = "readmodel_rebuild_test"
TABLES = (
    "profile_queue",
    "primary_profiles",
    "content",
    "similar_profiles",
    "viral_ideas_queue",
    "viral_ideas_competitors",
    "viral_analysis_results",
    "viral_analysis_reels",
    "viral_scripts",
    "stream_checkpoints",
)


async def test_rebuild_from_the_store_is_identical_and_a_corrupted_row_is_reported(
    filled: Filled, pool: asyncpg.Pool, cli_env: dict[str, str]
) -> None:
    rebuilt = await viralspot(
        cli_env, "readmodels", "rebuild", "--schema", SCHEMA, "--batch-size", "40", "--compare"
    )
    assert rebuilt.code == 0, rebuilt.stdout + rebuilt.stderr
    assert "identical" in rebuilt.stdout and "ignored columns: profile_queue.projected_at" in rebuilt.stdout
    assert f"rebuilding {SCHEMA}:" in rebuilt.stderr  # progress lines
    for table in TABLES:
        live = await pool.fetchval(f"SELECT count(*) FROM readmodel.{table}")
        again = await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.{table}")
        assert live == again > 0, table
    # the view was re-created over the rebuilt tables, not the live ones
    summary = await pool.fetchrow(f"SELECT status, total_competitors_count FROM {SCHEMA}.viral_queue_summary")
    assert dict(summary) == {"status": "completed", "total_competitors_count": 2}

    await pool.execute(
        """UPDATE readmodel.content SET view_count = view_count + 1
           WHERE content_id = (SELECT min(content_id) FROM readmodel.content)"""
    )
    compared = await viralspot(cli_env, "readmodels", "compare", "--schema", SCHEMA)
    assert compared.code == 1, compared.stdout + compared.stderr
    lines = compared.stdout.splitlines()
    different = [line.split()[0] for line in lines if line.rstrip().endswith("DIFFERENT")]
    assert different == ["content"], compared.stdout
    assert "content: 1 rows only live, 1 only rebuilt" in compared.stdout
    assert sum(1 for line in lines if line.strip().startswith(("- {", "+ {"))) == 2

    dropped = await viralspot(cli_env, "readmodels", "compare", "--schema", SCHEMA, "--drop")
    assert dropped.code == 1 and f"dropped schema {SCHEMA}" in dropped.stdout
    assert await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", SCHEMA) == 0


async def test_rebuild_refuses_unsafe_schema_names(cli_env: dict[str, str]) -> None:
    for name in ("readmodel", 'x"; DROP SCHEMA readmodel CASCADE; --', "Upper"):
        result = await viralspot(cli_env, "readmodels", "rebuild", "--schema", name)
        assert result.code == 2 and "viralspot: error:" in result.stderr, result.stderr


async def test_the_discovery_columns_and_totals_of_the_live_projector_are_what_a_rebuild_gives(
    filled: Filled, pool: asyncpg.Pool, cli_env: dict[str, str]
) -> None:
    async with pool.acquire() as conn:
        for n, username in enumerate(filled.profiles):
            held = await conn.fetch("SELECT content_id FROM readmodel.content WHERE username = $1", username)
            assert held, username
            await append(
                conn,
                username,
                creator_categorised(username, ("cooking", "travel")[n], "lifestyle", keywords=["food"]),
                reels_categorised(
                    username, *(categories(r["content_id"], ("cooking", "travel")[n]) for r in held)
                ),
            )
        await append(
            conn,
            "maker.of.posts",
            ingested("maker.of.posts", [reel("m1", 900), reel("m2", 100)], [post("m3", 20, carousel=2)]),
            creator_categorised("maker.of.posts", "art"),
            reels_categorised("maker.of.posts", categories("m1", "art"), categories("m3", "art")),
        )
    await infra.eventually(lambda: projector_caught_up(pool), message="projector caught up")
    async with pool.acquire() as conn:
        assert await facets_kept(conn) == await facets_counted(conn)
        assert await baselines_kept(conn) == await baselines_counted(conn)
        carousels = "SELECT count(*) FROM readmodel.content WHERE username = $1 AND post_type = 'carousel'"
        assert await conn.fetchval(carousels, "maker.of.posts") == 1

    rebuilt = await viralspot(cli_env, "readmodels", "rebuild", "--schema", SCHEMA, "--compare", "--drop")
    assert rebuilt.code == 0, rebuilt.stdout + rebuilt.stderr
    assert "identical" in rebuilt.stdout
    for table in ("content_facets", "niche_baselines", "content", "primary_profiles"):
        line = next(line for line in rebuilt.stdout.splitlines() if line.split()[:1] == [table])
        live, again = line.split()[1:3]
        assert live == again and int(live) > 0 and line.rstrip().endswith("ok"), line
