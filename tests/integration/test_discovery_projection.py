"""What the projector makes of the discovery events: creators and their reels and posts filed under the
taxonomy, the creator's columns on every content row of theirs, and the totals the feed reads
(content_facets, niche_baselines) equal to a GROUP BY over the content rows after every batch, live or
rebuilt, whatever the order the events come in."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import pytest

from cli.readmodels import Replay, compare_schemas, create_schema, replay_store, timed_replay
from libs.events import Envelope, EventStore
from libs.events.catalog import ContentFetched, analysis_stream
from services.projector.handlers import Projector
from tests.support import infra
from tests.support.projector import (
    APRIL,
    append,
    baselines_counted,
    baselines_kept,
    categories,
    creator_categorised,
    deliver,
    facets_counted,
    facets_kept,
    ingested,
    post,
    reel,
    reels_categorised,
)

LATER = APRIL + timedelta(hours=1)


@pytest.fixture
async def conn(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with pool.acquire() as c:
        yield c


@pytest.fixture
def projector() -> Projector:
    return Projector(EventStore(producer="profile-ingest"))


async def content(conn: asyncpg.Connection, *columns: str) -> dict[str, dict]:
    rows = await conn.fetch(f"SELECT content_id, {', '.join(columns)} FROM readmodel.content ORDER BY 1")
    return {r["content_id"]: {c: r[c] for c in columns} for r in rows}


async def assert_totals_equal_the_content(conn: asyncpg.Connection) -> None:
    assert await facets_kept(conn) == await facets_counted(conn)
    assert await baselines_kept(conn) == await baselines_counted(conn)


async def test_a_categorised_creator_is_filed_with_every_content_row_of_theirs(
    conn: asyncpg.Connection, projector: Projector
) -> None:
    events = await append(
        conn,
        "maya",
        ingested("maya", [reel("1", 100), reel("2", 300)], [post("3", likes=50)], followers=2000),
        creator_categorised(
            "maya", "fitness", "health", "cooking", keywords=["gym", "protein"], language="en"
        ),
        at=APRIL,
    )
    await deliver(conn, projector, events)

    profile = await conn.fetchrow(
        """SELECT primary_category, secondary_category, tertiary_category, keywords, language, classifier,
                  categorised_at, total_reels FROM readmodel.primary_profiles WHERE username = 'maya'"""
    )
    assert dict(profile) == {
        "primary_category": "fitness",
        "secondary_category": "health",
        "tertiary_category": "cooking",
        "keywords": ["gym", "protein"],
        "language": "en",
        "classifier": "test-1",
        "categorised_at": APRIL,
        "total_reels": 2,
    }
    creator = ("creator_primary_category", "creator_secondary_category", "creator_tertiary_category")
    numbers = ("creator_followers", "creator_verified", "creator_account_type", "creator_reels")
    rows = await content(conn, *creator, *numbers)
    assert set(rows) == {"1", "2", "3"}
    for row in rows.values():
        assert row == {
            "creator_primary_category": "fitness",
            "creator_secondary_category": "health",
            "creator_tertiary_category": "cooking",
            "creator_followers": 2000,
            "creator_verified": False,
            "creator_account_type": "personal",
            "creator_reels": 2,
        }
    assert ("reel", "primary_category", "fitness", 2) in await facets_kept(conn)
    assert ("image", "tertiary_category", "cooking", 1) in await facets_kept(conn)
    await assert_totals_equal_the_content(conn)


async def test_a_reels_categorisation_files_the_reels_it_names_and_no_other(
    conn: asyncpg.Connection, projector: Projector
) -> None:
    await deliver(
        conn, projector, await append(conn, "noa", ingested("noa", [reel("1", 100), reel("2", 200)]))
    )
    events = await append(
        conn,
        "noa",
        reels_categorised(
            "noa",
            categories("1", "travel", keywords=["beach", "bali"], language="es", content_style="vlog"),
            categories("404", "travel"),  # not held: nothing to file
        ),
        at=LATER,
    )
    await deliver(conn, projector, events)

    columns = ("category", "keywords", "language", "content_style", "hook_type", "categorised_at")
    rows = await content(conn, *columns)
    assert rows["1"] == {
        "category": "travel",
        "keywords": ["beach", "bali"],
        "language": "es",
        "content_style": "vlog",
        "hook_type": "question",
        "categorised_at": LATER,
    }
    assert rows["2"] == dict.fromkeys(columns) | {"keywords": []}
    assert set(rows) == {"1", "2"}
    assert await baselines_kept(conn) == [("travel", date(2026, 4, 1), 100.0, 1)]
    await assert_totals_equal_the_content(conn)


async def test_posts_land_as_posts_and_leave_the_reel_counts_alone(
    conn: asyncpg.Connection, projector: Projector
) -> None:
    events = await append(
        conn,
        "marco",
        ingested(
            "marco",
            [reel("1", 400)],
            [post("2", likes=30, comments=10), post("3", likes=8, carousel=4, outlier_score=0.25)],
            followers=800,
        ),
        reels_categorised(
            "marco", categories("1", "cooking"), categories("2", "cooking"), categories("3", "cooking")
        ),
    )
    await deliver(conn, projector, events)

    rows = await content(
        conn, "post_type", "view_count", "engagement_rate", "outlier_score", "carousel_count", "creator_reels"
    )
    assert rows["2"] == {
        "post_type": "image",
        "view_count": None,
        "engagement_rate": 5.0,  # (30 + 10) / 800 followers * 100
        "outlier_score": 1.0,
        "carousel_count": 1,
        "creator_reels": 1,
    }
    assert rows["3"] == {
        "post_type": "carousel",
        "view_count": None,
        "engagement_rate": 1.0,
        "outlier_score": 0.25,
        "carousel_count": 4,
        "creator_reels": 1,
    }
    assert rows["1"]["post_type"] == "reel" and rows["1"]["view_count"] == 400
    assert await conn.fetchval("SELECT total_reels FROM readmodel.primary_profiles") == 1
    # Posts have no views: the niche's median is the reel's alone.
    assert await baselines_kept(conn) == [("cooking", date(2026, 4, 1), 400.0, 1)]
    facets = await facets_kept(conn)
    assert ("reel", "category", "cooking", 1) in facets and ("image", "category", "cooking", 1) in facets
    assert ("carousel", "category", "cooking", 1) in facets
    await assert_totals_equal_the_content(conn)


async def test_the_creator_columns_follow_the_profile_whoever_updates_it(
    conn: asyncpg.Connection, projector: Projector
) -> None:
    await deliver(
        conn,
        projector,
        await append(conn, "amy", ingested("amy", [reel("1", 10), reel("2", 20)], followers=100), at=APRIL),
    )

    def fetched(followers: int, verified: bool) -> ContentFetched:
        snapshot = ingested("amy", [reel("2", 25)], followers=followers, is_verified=verified).profile
        return ContentFetched(
            queue_id="q1",
            run=1,
            username="amy",
            profile_type="competitor",
            profile=snapshot,
            reels=[reel("2", 25)],
        )

    newer = await append(conn, "amy", fetched(500, True), at=LATER, stream=analysis_stream("q1"))
    older = await append(
        conn, "amy", fetched(50, False), at=APRIL - timedelta(days=1), stream=analysis_stream("q1")
    )
    await deliver(conn, projector, newer)
    await deliver(conn, projector, older)  # an older snapshot delivered later changes nothing

    rows = await content(conn, "creator_followers", "creator_verified", "creator_reels")
    # Reel 1 was not in the analysis' snapshot: it follows its creator's profile all the same.
    assert rows == {
        "1": {"creator_followers": 500, "creator_verified": True, "creator_reels": 1},
        "2": {"creator_followers": 500, "creator_verified": True, "creator_reels": 1},
    }
    await assert_totals_equal_the_content(conn)


@pytest.mark.parametrize("together", [True, False], ids=["one_batch", "separate_batches"])
async def test_an_older_categorisation_arriving_later_leaves_the_newer_in_place(
    conn: asyncpg.Connection, projector: Projector, together: bool
) -> None:
    await deliver(conn, projector, await append(conn, "maya", ingested("maya", [reel("1", 100)]), at=APRIL))
    newer = await append(
        conn,
        "maya",
        creator_categorised("maya", "fitness", keywords=["gym"]),
        reels_categorised("maya", categories("1", "fitness", keywords=["squat"])),
        at=LATER + timedelta(hours=1),
    )
    # Decided before the newer one but appended after it (a retry of a slower worker).
    older = await append(
        conn,
        "maya",
        creator_categorised("maya", "comedy", keywords=["funny"]),
        reels_categorised("maya", categories("1", "comedy", keywords=["prank"])),
        at=LATER,
    )
    if together:
        await deliver(conn, projector, newer + older)
    else:
        await deliver(conn, projector, newer)
        await deliver(conn, projector, older)

    profile = await conn.fetchrow(
        "SELECT primary_category, keywords, categorised_at FROM readmodel.primary_profiles"
    )
    assert dict(profile) == {
        "primary_category": "fitness",
        "keywords": ["gym"],
        "categorised_at": LATER + timedelta(hours=1),
    }
    rows = await content(conn, "category", "keywords", "creator_primary_category")
    assert rows == {
        "1": {"category": "fitness", "keywords": ["squat"], "creator_primary_category": "fitness"}
    }

    latest = await append(
        conn,
        "maya",
        creator_categorised("maya", "travel"),
        reels_categorised("maya", categories("1", "travel")),
        at=LATER + timedelta(hours=2),
    )
    await deliver(conn, projector, latest)  # a later one replaces it
    rows = await content(conn, "category", "creator_primary_category")
    assert rows == {"1": {"category": "travel", "creator_primary_category": "travel"}}
    assert [(f, v) for p, f, v, _ in await facets_kept(conn) if f in ("category", "primary_category")] == [
        ("category", "travel"),
        ("primary_category", "travel"),
    ]
    await assert_totals_equal_the_content(conn)


async def test_baselines_are_the_median_views_of_a_niches_reels_in_a_month(
    conn: asyncpg.Connection, projector: Projector
) -> None:
    may = APRIL + timedelta(days=30)
    reels = [
        reel("1", 100),
        reel("2", 200),
        reel("3", 400),
        reel("4", 0),
        reel("5", None),
        reel("6", 1000, may),
    ]
    await deliver(
        conn,
        projector,
        await append(
            conn,
            "maya",
            ingested("maya", reels, [post("7", likes=10)]),
            reels_categorised("maya", *(categories(str(i), "fitness") for i in range(1, 8))),
        ),
    )
    april, may_ = date(2026, 4, 1), date(2026, 5, 1)
    # Reels without views are left out; the post is not a reel.
    assert await baselines_kept(conn) == [("fitness", april, 200.0, 3), ("fitness", may_, 1000.0, 1)]

    await deliver(
        conn, projector, await append(conn, "maya", reels_categorised("maya", categories("3", "cooking")))
    )
    assert await baselines_kept(conn) == [
        ("cooking", april, 400.0, 1),
        ("fitness", april, 150.0, 2),
        ("fitness", may_, 1000.0, 1),
    ]

    grown = [reel("1", 100), reel("2", 200), reel("3", 400), reel("6", 3000, may), reel("8", 50)]
    await deliver(conn, projector, await append(conn, "maya", ingested("maya", grown)))  # views changed
    await deliver(
        conn, projector, await append(conn, "maya", reels_categorised("maya", categories("6", "cooking")))
    )
    # May's fitness bucket lost its only reel: it is gone. Reel 8 is not categorised: in no niche.
    assert await baselines_kept(conn) == [
        ("cooking", april, 400.0, 1),
        ("cooking", may_, 3000.0, 1),
        ("fitness", april, 150.0, 2),
    ]
    await assert_totals_equal_the_content(conn)


async def all_readable(conn: asyncpg.Connection) -> bool:
    return await conn.fetchval(
        """SELECT coalesce(max(tx_id) < pg_snapshot_xmin(pg_current_snapshot()), true)
           FROM eventstore.events"""
    )


CATEGORIES = ("fitness", "cooking", "travel", "tech", "comedy")
KEYWORDS = ("gym", "pasta", "beach", "ai", "prank", "diy")


def random_events(rng: random.Random, username: str, version: int) -> list:
    """One step of a creator's life: a (re-)ingestion, a categorisation of the creator or of some reels."""
    ids = [f"{username}-{i}" for i in range(rng.randint(1, 6))]
    step = rng.choice(("ingest", "creator", "reels", "all"))
    events: list = []
    if step in ("ingest", "all") or version == 0:
        posted = [APRIL + timedelta(days=rng.choice((0, 35, 70))) for _ in ids]
        events.append(
            ingested(
                username,
                [
                    reel(i, rng.choice((None, 0, rng.randint(1, 10_000))), p)
                    for i, p in zip(ids, posted, strict=True)
                ],
                [
                    post(f"{username}-p{i}", likes=rng.randint(0, 50), carousel=rng.choice((None, 3)))
                    for i in range(2)
                ],
                followers=rng.randint(0, 5000),
                account_type=rng.choice(("personal", "business", None)),
            )
        )
    if step in ("creator", "all"):
        picked = rng.sample(CATEGORIES, 3)
        events.append(
            creator_categorised(
                username,
                picked[0],
                rng.choice((picked[1], None)),
                rng.choice((picked[2], None)),
                keywords=rng.sample(KEYWORDS, rng.randint(0, 4)),
                language=rng.choice(("en", "es", None)),
            )
        )
    if step in ("reels", "all"):
        # Any of the creator's reels, also ones this step's ingestion (if any) does not hold.
        pool = [f"{username}-{i}" for i in range(6)] + [f"{username}-p0"]
        named = rng.sample(pool, rng.randint(1, 5))
        events.append(
            reels_categorised(
                username,
                *(
                    categories(
                        i,
                        rng.choice(CATEGORIES),
                        keywords=rng.sample(KEYWORDS, rng.randint(0, 4)),
                        language=rng.choice(("en", "pt", None)),
                        content_style=rng.choice(("tutorial", "skit", "vlog")),
                    )
                    for i in named
                ),
            )
        )
    return events


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_the_totals_equal_the_group_by_after_any_mix_of_events_and_a_rebuild_reproduces_them(
    conn: asyncpg.Connection, projector: Projector, seed: int
) -> None:
    rng = random.Random(seed)
    creators = [f"creator{i}" for i in range(6)]
    steps = {u: 0 for u in creators}
    pending: list[Envelope] = []
    for _ in range(60):
        username = rng.choice(creators)
        at = APRIL + timedelta(minutes=rng.randint(0, 30))  # out of order now and then, and equal
        pending += await append(conn, username, *random_events(rng, username, steps[username]), at=at)
        steps[username] += 1
        if rng.random() < 0.4:
            # Delivered in any order and batch: a stream's later event pulls in its earlier ones.
            rng.shuffle(pending)
            cut = rng.randint(1, len(pending))
            await deliver(conn, projector, pending[:cut])
            pending = pending[cut:]
            await assert_totals_equal_the_content(conn)
    await deliver(conn, projector, pending)
    await assert_totals_equal_the_content(conn)
    assert await conn.fetchval("SELECT count(*) FROM readmodel.content WHERE category IS NOT NULL") > 0
    assert await conn.fetchval("SELECT count(*) FROM readmodel.niche_baselines") > 0

    # The store hands out events below the oldest transaction running anywhere on the server (another
    # test's, too): wait until all of these are readable, or the rebuild would stop short.
    await infra.eventually(lambda: all_readable(conn), message="every event readable from the store")
    # Rebuilt in batches, and one event at a time: each event through its own projection, no shortcut;
    # and as `viralspot readmodels rebuild` does it, the totals counted once after the replay.
    for schema, batch_size, recounted in (
        ("readmodel_rebuilt", 7, False),
        ("readmodel_one_by_one", 1, False),
        ("readmodel_recounted", 7, True),
    ):
        await create_schema(conn, "readmodel", schema)
        if recounted:
            replay = await timed_replay(conn, Replay(schema), batch_size)
        else:
            replay = await replay_store(conn, Replay(schema), batch_size=batch_size)
        assert replay.unapplied == []
        diffs = await compare_schemas(conn, "readmodel", schema)
        assert [d.name for d in diffs if not d.identical] == [], [
            (d.name, d.problem, d.samples) for d in diffs
        ]
        assert {"content", "content_facets", "niche_baselines", "primary_profiles"} <= {d.name for d in diffs}
