"""What projecting a categorised reel costs next to an uncategorised one (the discovery issue's goal: at
most 1.3x), through Projector.apply_batch in the live consumer's batches, on a fresh migrated database.

    .venv/bin/python -m tests.support.projector_cost [--profiles 2000] [--reels 50] [--batch 256]

Each run appends its creators' events to the store first (not timed), then applies them in batches of
`--batch` events as the consumer delivers them; the time per reel is the batches' time over the reels."""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import timedelta

from libs.categories import CATEGORY_NAMES
from libs.events import Envelope, EventStore
from libs.events.db import create_pool
from libs.events.migrate import migrate
from services.projector.handlers import Projector
from tests.support import infra
from tests.support.projector import (
    APRIL,
    append,
    categories,
    creator_categorised,
    deliver,
    ingested,
    reel,
    reels_categorised,
)


def creator_events(rng: random.Random, n: int, reels: int, categorised: bool) -> tuple[str, list]:
    username = f"creator{n}"
    niche = rng.choice(CATEGORY_NAMES)
    snapshots = [
        reel(
            f"{n}-{i}",
            rng.randint(100, 1_000_000),
            APRIL - timedelta(days=rng.randint(0, 365)),
            description=f"{niche} tips part {i} #{niche} #reels #daily what I learnt this week",
        )
        for i in range(reels)
    ]
    events: list = [ingested(username, snapshots, followers=rng.randint(1_000, 2_000_000))]
    if categorised:
        events.append(
            creator_categorised(username, niche, "lifestyle", "education", keywords=[niche, "tips"])
        )
        events.append(
            reels_categorised(
                username,
                *(categories(r.content_id, niche, keywords=[niche, "tips", "daily"]) for r in snapshots),
            )
        )
    return username, events


async def run(url: str, profiles: int, reels: int, batch: int, categorised: bool) -> float:
    """Seconds per reel."""
    rng = random.Random(7)
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            envelopes: list[Envelope] = []
            for n in range(profiles):
                username, events = creator_events(rng, n, reels, categorised)
                envelopes += await append(conn, username, *events)
            projector = Projector(EventStore(producer="profile-ingest"))
            started = time.perf_counter()
            for i in range(0, len(envelopes), batch):
                await deliver(conn, projector, envelopes[i : i + batch])
            elapsed = time.perf_counter() - started
            held = await conn.fetchval("SELECT count(*) FROM readmodel.content")
            assert held == profiles * reels, held
    finally:
        await pool.close()
    return elapsed / (profiles * reels)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", type=int, default=2000)
    parser.add_argument("--reels", type=int, default=50)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the two runs this many times")
    args = parser.parse_args()
    figures: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.rounds):
        for categorised in (False, True):
            name = infra.unique("vs_bench")
            url = await infra.create_database(name)
            try:
                await migrate(url)
                figures[categorised].append(
                    await run(url, args.profiles, args.reels, args.batch, categorised)
                )
            finally:
                await infra.drop_database(name)
            label = "categorised" if categorised else "uncategorised"
            print(f"{label:>14}: {figures[categorised][-1] * 1e6:8.1f} us per reel", flush=True)
    plain, filed = min(figures[False]), min(figures[True])
    print(
        f"best of {args.rounds}: {plain * 1e6:.1f} vs {filed * 1e6:.1f} us per reel, ratio {filed / plain:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
