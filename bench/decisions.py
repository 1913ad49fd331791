"""Figure 11: what a profile request's decision reads. The decision folds the profile's stream; an
ingested profile's stream is mostly reel, post and similar-account snapshots the fold never looks at.
Read whole, and read without them (EventStore.read_stream(without=NOT_FOLDED)), in one run."""

from __future__ import annotations

import time
from typing import Any

from bench.environment import BenchEnvironment, progress
from libs.events import EventStore, NewEvent
from libs.events.catalog import ProfileIngestStarted, ProfileRequested, profile_stream
from libs.events.migrate import migrate
from libs.profiles import NOT_FOLDED, fold
from tests.support import infra
from tests.support.projector import categories, creator_categorised, ingested, post, reel, reels_categorised

NAME = "bench.decided"
REELS, POSTS, INGESTIONS = 100, 50, 3
READS = 500
ROUNDS = 5

_BYTES = """SELECT sum(octet_length(payload::text)) AS whole,
                   sum(octet_length((payload - $2::text[])::text)) AS folded
            FROM eventstore.events WHERE stream_id = $1"""


async def _stream(store: EventStore, conn: Any) -> None:
    """A creator requested, fetched and categorised INGESTIONS times, as re-fetches leave it."""
    reels = [reel(f"{k}", 1000 + k) for k in range(REELS)]
    posts = [post(f"p{k}", 100 + k) for k in range(POSTS)]
    for n in range(INGESTIONS):
        request_id = f"{0xD0 + n:08x}"
        events = [
            ProfileRequested(username=NAME, source="bench", priority="HIGH", request_id=request_id),
            ProfileIngestStarted(username=NAME, request_id=request_id, attempt=1),
            ingested(NAME, reels, posts).model_copy(update={"request_id": request_id}),
            creator_categorised(NAME, "fitness"),
            reels_categorised(NAME, *(categories(f"{k}", "fitness") for k in range(REELS))),
        ]
        await store.append(
            conn, profile_stream(NAME), [NewEvent(event=e) for e in events], expected_version=None
        )


async def decision_reads() -> dict[str, Any]:
    from libs.events.db import connect

    name = infra.unique("vs_bench_decide")
    url = await infra.create_database(name)
    try:
        await migrate(url)
        conn = await connect(url)
        try:
            store = EventStore(producer="gateway")
            await _stream(store, conn)
            stream = profile_stream(NAME)
            row = await conn.fetchrow(_BYTES, stream, list(NOT_FOLDED))
            cases = {"whole stream": (), "without the snapshots": NOT_FOLDED}
            assert fold(await store.read_stream(conn, stream)) == fold(
                await store.read_stream(conn, stream, without=NOT_FOLDED)
            )
            best = dict.fromkeys(cases, float("inf"))
            for _ in range(ROUNDS):  # alternating, the best round of each
                for case, without in cases.items():
                    started = time.perf_counter()
                    for _ in range(READS):
                        fold(await store.read_stream(conn, stream, without=without))
                    best[case] = min(best[case], (time.perf_counter() - started) / READS)
        finally:
            await conn.close()
    finally:
        await infra.drop_database(name)
    events = INGESTIONS * 5
    return {
        "events": events,
        "reels": REELS,
        "posts": POSTS,
        "payload_bytes": {"whole stream": row["whole"], "without the snapshots": row["folded"]},
        "read_and_fold_ms": {case: round(s * 1000, 3) for case, s in best.items()},
        "round_trips": 1,
        "ratio": round(best["without the snapshots"] / best["whole stream"], 3),
    }


async def section(env: BenchEnvironment) -> dict[str, Any]:
    return progress("11. a profile decision's read", await decision_reads())
