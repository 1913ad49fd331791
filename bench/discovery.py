"""Figure 7: the discovery feed over a crawler's network (1,000,000 reels of 50,000 creators by default),
and what categorising costs the projector.

The network is seeded through the store and the projector's own code: every creator's ProfileIngested,
ProfileCategorised and ReelsCategorised events are appended to the event store, then replayed into the
read model by `cli.readmodels.replay_store`, the path `viralspot readmodels rebuild` takes (no broker:
a million reels through RabbitMQ would measure the broker). It runs on a database of its own, with a
gateway process of its own reading it, so the other figures' tables stay small.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench.environment import BenchEnvironment, progress
from bench.http_load import load_generator, measure
from bench.stats import percentile
from cli.readmodels import Replay, replay_store
from libs.categories import CATEGORY_NAMES, CONTENT_STYLES, LANGUAGES
from libs.events import EventStore, NewEvent
from libs.events.catalog import profile_stream
from libs.events.db import create_pool
from libs.events.migrate import migrate
from services.projector.handlers import Projector
from tests.support import infra
from tests.support.projector import (
    categories,
    creator_categorised,
    deliver,
    ingested,
    reel,
    reels_categorised,
)

CREATORS = int(os.environ.get("BENCH_FEED_CREATORS", "50000"))
REELS_PER_CREATOR = int(os.environ.get("BENCH_FEED_REELS_PER_CREATOR", "20"))
APPEND_WORKERS = 4
CREATORS_PER_COMMIT = 100
REPLAY_BATCH = 1000
CONNECTIONS = 32
SECONDS = 5
WARMUP_S = 1
PAGE_DEEP = 200
FILTER_OPTIONS_SAMPLES = 300
GOALS = {"p99_ms": 50, "deep_page_ratio": 1.2, "filter_options_ms": 20, "categorised_ratio": 1.3}
NOW = datetime.now(UTC).replace(microsecond=0)
WORDS = (
    "protein", "budget", "sourdough", "beach", "python", "glow", "secret", "quick", "morning", "routine",
    "mistakes", "beginner", "hack", "honest", "review", "story", "challenge", "easy", "daily", "tips",
)  # fmt: skip

# The fixed mix: each a query string of GET /api/reels (limit 24, page 1).
MIX: list[tuple[str, dict[str, str]]] = [
    ("popular (default sort, no filter)", {}),
    ("search 'sourdough'", {"search": "sourdough"}),
    ("search 'honest review', sort views", {"search": "honest review", "sort_by": "views"}),
    ("niche fitness", {"primary_categories": "fitness"}),
    ("niche cooking, Spanish, sort views", {"primary_categories": "cooking", "languages": "es", "sort_by": "views"}),
    ("outlier >= 3, last 30 days", {"min_outlier_score": "3", "date_range": "last_30_days"}),
    ("recent, views >= 100k", {"sort_by": "recent", "min_views": "100000"}),
    ("niche_outlier sort", {"sort_by": "niche_outlier"}),
    ("keyword 'budget', sort likes", {"keywords": "budget", "sort_by": "likes"}),
    (
        "verified business tutorials, sort followers",
        {"is_verified": "true", "account_types": "business", "content_styles": "tutorial", "sort_by": "followers"},
    ),
    ("random order of a session", {"random_order": "true", "session_id": "bench-session"}),
]  # fmt: skip


def creator_events(rng: random.Random, n: int, reels: int, categorised: bool = True) -> tuple[str, list]:
    """One creator of the network: an ingestion with `reels` reels and, when categorised, the two
    categorisation events profile-ingest records with it."""
    username = f"creator{n}"
    niche = CATEGORY_NAMES[n % len(CATEGORY_NAMES)]
    language = LANGUAGES[0] if rng.random() < 0.7 else rng.choice(LANGUAGES)
    median = rng.choice((800, 3_000, 10_000, 40_000, 150_000))
    snapshots = []
    for i in range(reels):
        views = max(1, int(median * rng.lognormvariate(0, 1.0)))
        words = " ".join(rng.sample(WORDS, 4))
        snapshots.append(
            reel(
                f"{n}-{i}",
                views,
                NOW - timedelta(days=rng.randint(0, 400), minutes=rng.randint(0, 1440)),
                description=f"{words} #{niche} #{rng.choice(WORDS)}",
                like_count=views // rng.randint(8, 40),
                comment_count=views // rng.randint(100, 900),
                outlier_score=round(views / median, 2),
                engagement_rate=round(rng.uniform(0.5, 12), 2),
            )
        )
    events: list = [
        ingested(
            username,
            snapshots,
            followers=int(median * rng.uniform(3, 60)),
            is_verified=rng.random() < 0.1,
            account_type=rng.choice(("personal", "business", "creator")),
        )
    ]
    if categorised:
        secondary = CATEGORY_NAMES[(n * 7 + 3) % len(CATEGORY_NAMES)]
        events.append(
            creator_categorised(
                username, niche, secondary, keywords=[niche, rng.choice(WORDS)], language=language
            )
        )
        events.append(
            reels_categorised(
                username,
                *(
                    categories(
                        r.content_id,
                        niche if rng.random() < 0.8 else rng.choice(CATEGORY_NAMES),
                        keywords=rng.sample(WORDS, 2),
                        language=language,
                        content_style=rng.choice(CONTENT_STYLES),
                    )
                    for r in snapshots
                ),
            )
        )
    return username, events


async def seed_network(url: str, creators: int, reels: int) -> dict[str, Any]:
    """Append the network's events (APPEND_WORKERS connections, CREATORS_PER_COMMIT creators per
    commit), then replay the store into readmodel as a rebuild does."""
    pool = await create_pool(url, min_size=1, max_size=APPEND_WORKERS + 1)
    store = EventStore(producer="profile-ingest")
    try:
        started = time.perf_counter()
        chunks = [
            range(i, min(i + CREATORS_PER_COMMIT, creators)) for i in range(0, creators, CREATORS_PER_COMMIT)
        ]
        queue: asyncio.Queue[range] = asyncio.Queue()
        for chunk in chunks:
            queue.put_nowait(chunk)

        async def worker() -> None:
            async with pool.acquire() as conn:
                while not queue.empty():
                    chunk = queue.get_nowait()
                    rng = random.Random(chunk.start)
                    async with conn.transaction():
                        for n in chunk:
                            username, events = creator_events(rng, n, reels)
                            news = [NewEvent(event=e) for e in events]
                            await store.append(conn, profile_stream(username), news, expected_version=None)

        await asyncio.gather(*(worker() for _ in range(APPEND_WORKERS)))
        appended_s = time.perf_counter() - started
        async with pool.acquire() as conn:
            # Nothing relays profile-ingest's events in this database: mark them sent, as a relay would.
            await conn.execute("UPDATE eventstore.events SET published_at = now() WHERE published_at IS NULL")
            started = time.perf_counter()
            replay = await replay_store(conn, Replay("readmodel"), REPLAY_BATCH)
            assert not replay.unapplied, [u.line() for u in replay.unapplied]
            applied = replay.applied
            replayed_s = time.perf_counter() - started
            await conn.execute("ANALYZE readmodel.content")
            await conn.execute("ANALYZE readmodel.primary_profiles")
            held = await conn.fetchval("SELECT count(*) FROM readmodel.content WHERE post_type = 'reel'")
            size = await conn.fetchval("SELECT pg_total_relation_size('readmodel.content')")
    finally:
        await pool.close()
    assert held == creators * reels, held
    return {
        "creators": creators,
        "reels": held,
        "events": applied,
        "append_s": round(appended_s, 1),
        "replay_s": round(replayed_s, 1),
        "replay_reels_per_s": round(held / replayed_s),
        "content_table_mib": round(size / 2**20),
    }


async def walk_to(session: aiohttp.ClientSession, base: str, params: dict[str, str], page: int) -> str:
    """The next_cursor that opens page `page` (1-based) of the query."""
    cursor = None
    for _ in range(page - 1):
        query = {**params, "limit": "24", **({"cursor": cursor} if cursor else {})}
        async with session.get(f"{base}/api/reels?{urlencode(query)}") as response:
            body = await response.json()
            assert response.status == 200, body
            cursor = body["data"]["next_cursor"]
            assert cursor, f"the feed ended before page {page}"
    assert cursor is not None
    return cursor


async def feed_load(env: BenchEnvironment, base: str, use_wrk: bool, path: str) -> dict[str, Any]:
    # `get` mode appends a counter to the prefix; `_` is a parameter the feed ignores.
    prefix = f"{path}{'&' if '?' in path else '?'}_="
    return await measure(
        env, base, use_wrk, "get", prefix, CONNECTIONS, 1, seconds=SECONDS, warmup_s=WARMUP_S
    )


async def sequential_latency(session: aiohttp.ClientSession, url: str, samples: int) -> dict[str, float]:
    latencies = []
    for _ in range(samples):
        started = time.perf_counter()
        async with session.get(url) as response:
            await response.read()
            assert response.status == 200
        latencies.append(time.perf_counter() - started)
    return {f"p{p}_ms": round(percentile(latencies, p) * 1000, 2) for p in (50, 99)}


async def projection_cost(profiles: int = 300, reels: int = 50, rounds: int = 3) -> dict[str, Any]:
    """Seconds per reel through Projector.apply_batch in the live consumer's batches (256 events), an
    uncategorised network against the same network categorised, each on a fresh database, alternated
    `rounds` times; the best of each is kept (the machine's noise only ever adds)."""
    figures: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for categorised in (False, True):
            name = infra.unique("vs_bench_cost")
            url = await infra.create_database(name)
            try:
                await migrate(url)
                figures[categorised].append(await _project(url, profiles, reels, categorised))
            finally:
                await infra.drop_database(name)
    plain, filed = min(figures[False]), min(figures[True])
    return {
        "profiles": profiles,
        "reels_per_profile": reels,
        "rounds": rounds,
        "uncategorised_us_per_reel": round(plain * 1e6, 1),
        "categorised_us_per_reel": round(filed * 1e6, 1),
        "ratio": round(filed / plain, 2),
    }


async def _project(url: str, profiles: int, reels: int, categorised: bool) -> float:
    rng = random.Random(7)
    pool = await create_pool(url, min_size=1, max_size=1)  # its codecs, as the projector's
    try:
        conn = await pool.acquire()
        store = EventStore(producer="profile-ingest")
        envelopes = []
        for n in range(profiles):
            username, events = creator_events(rng, n, reels, categorised)
            news = [NewEvent(event=e) for e in events]
            envelopes += await store.append(conn, profile_stream(username), news, expected_version=None)
        projector = Projector(store)
        started = time.perf_counter()
        for i in range(0, len(envelopes), 256):
            await deliver(conn, projector, envelopes[i : i + 256])
        elapsed = time.perf_counter() - started
        assert await conn.fetchval("SELECT count(*) FROM readmodel.content") == profiles * reels
        await pool.release(conn)
    finally:
        await pool.close()
    return elapsed / (profiles * reels)


async def section(env: BenchEnvironment) -> dict[str, Any]:
    use_wrk, generator = load_generator()
    results: dict[str, Any] = {
        "load_generator": generator,
        "connections": CONNECTIONS,
        "seconds": SECONDS,
        "warmup_s": WARMUP_S,
    }
    results["projection"] = progress("7. projecting a categorised reel", await projection_cost())
    name = infra.unique("vs_bench_feed")
    url = await infra.create_database(name)
    try:
        await migrate(url)
        results["seed"] = progress(
            "7. seeding the network", await seed_network(url, CREATORS, REELS_PER_CREATOR)
        )
        # The gateway of the other figures gives way to one on this database (this section runs last).
        await env.stop("gateway")
        await env.start("gateway", "services.gateway", "GATEWAY_PORT", DATABASE_URL=url)
        base = f"http://127.0.0.1:{env.ports['gateway']}"
        try:
            results["mix"] = []
            for label, params in MIX:
                path = f"/api/reels?{urlencode({**params, 'limit': '24'})}"
                figures = await feed_load(env, base, use_wrk, path)
                results["mix"].append(progress(f"7. {label}", {"label": label, **figures}))
            async with aiohttp.ClientSession() as session:
                cursor = await walk_to(session, base, {}, PAGE_DEEP)
                deep = f"/api/reels?{urlencode({'limit': '24', 'cursor': cursor})}"
                results["deep_page"] = progress(
                    f"7. page {PAGE_DEEP} by cursor", await feed_load(env, base, use_wrk, deep)
                )
                options = f"{base}/api/filter-options"
                results["filter_options"] = progress(
                    "7. filter-options, one connection",
                    await sequential_latency(session, options, FILTER_OPTIONS_SAMPLES),
                )
            results["filter_options_loaded"] = progress(
                "7. filter-options", await feed_load(env, base, use_wrk, "/api/filter-options")
            )
        finally:
            await env.stop("gateway")
    finally:
        await infra.drop_database(name)
    return results
