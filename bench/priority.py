"""Figure 9: HIGH pauses LOW (seed 002). How long a HIGH request waits for its ingestion to start while a
crawl's burst of LOW requests is being fetched at 300 ms provider latency, with the LOW lane and, as the
reference, with one queue (INGEST_LOW_LANE=false, the behaviour before the lane)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.backbone import STORE
from bench.cpu import CpuUse
from bench.environment import BenchEnvironment, progress, wait_until
from bench.stats import summary_ms
from libs.events import NewEvent
from libs.events.catalog import ProfileRequested, profile_stream
from services.profile_ingest.settings import IngestSettings

LATENCY_MS = 300
LOW_PROFILES = 200
HIGH_REQUESTS = 12
GOAL_MS = 100.0
FIRST_ID = 0x40000000

_FIRST = """SELECT stream_id, extract(epoch FROM min(occurred_at))::float8 AS at FROM eventstore.events
            WHERE event_type = $1 AND stream_id = ANY($2) GROUP BY stream_id"""


async def first_of(env: BenchEnvironment, event_type: str, names: list[str]) -> dict[str, float]:
    """When each profile's first `event_type` happened (epoch seconds), by username."""
    assert env.pool is not None
    rows = await env.pool.fetch(_FIRST, event_type, [profile_stream(n) for n in names])
    return {r["stream_id"].removeprefix("profile-"): r["at"] for r in rows}


async def append(env: BenchEnvironment, names: list[str], priority: str, first_id: int) -> float:
    """The requests in one transaction; the time of its commit."""
    assert env.pool is not None
    async with env.pool.acquire() as conn, conn.transaction():
        for i, name in enumerate(names):
            event = ProfileRequested(
                username=name, source="crawler", priority=priority, request_id=f"{first_id + i:08x}"
            )
            await STORE.append(conn, profile_stream(name), [NewEvent(event=event)], expected_version=0)
    return time.time()


async def burst(env: BenchEnvironment, lane: bool, prefix: str, first_id: int) -> dict[str, Any]:
    lows = [f"{prefix}.low{i}" for i in range(LOW_PROFILES)]
    highs = [f"{prefix}.high{i}" for i in range(HIGH_REQUESTS)]
    concurrency = IngestSettings().ingest_concurrency
    await env.reset_store()
    await env.start_with_provider(
        "profile-ingest", "services.profile_ingest", INGEST_LOW_LANE=str(lane).lower()
    )

    async def lows_running() -> int:
        started = await first_of(env, "ProfileIngestStarted", lows)
        return len(set(started) - set(await first_of(env, "ProfileIngested", lows)))

    async def every_slot_on_low() -> bool:
        return await lows_running() >= concurrency

    await append(env, lows, "LOW", first_id)
    waits: list[float] = []
    running_at_arrival: list[int] = []
    low_starts_during_high = 0
    with CpuUse(env.pids) as cpu:
        for i, name in enumerate(highs):
            # Every HIGH request finds each LOW slot fetching, at a different point of its fetch.
            await wait_until(every_slot_on_low, 30, "every LOW slot fetching")
            await asyncio.sleep(0.05 + 0.1 * (i % 6))
            running_at_arrival.append(await lows_running())
            requested = await append(env, [name], "HIGH", first_id + LOW_PROFILES + i)

            async def done(name: str = name) -> bool:
                return name in await first_of(env, "ProfileIngested", [name])

            await wait_until(done, 30, f"HIGH request {name} ingested")
            start = (await first_of(env, "ProfileIngestStarted", [name]))[name]
            end = (await first_of(env, "ProfileIngested", [name]))[name]
            waits.append(max(0.0, start - requested))
            low_starts = await first_of(env, "ProfileIngestStarted", lows)
            low_starts_during_high += sum(1 for t in low_starts.values() if start < t < end)
    lows_done = len(await first_of(env, "ProfileIngested", lows))
    await env.stop("profile-ingest")
    return {
        "low_lane": lane,
        "ingest_concurrency": concurrency,
        "high_requests": len(waits),
        "wait": summary_ms(waits),
        "mean_lows_running_at_arrival": round(sum(running_at_arrival) / len(running_at_arrival), 2),
        "low_starts_during_high": low_starts_during_high,
        "lows_ingested_meanwhile": lows_done,
        "cpu_cores": cpu.cores,
    }


async def section(env: BenchEnvironment) -> dict[str, Any]:
    if "gateway" not in env.processes:  # its relay publishes what the figure appends; figure 8 stops it
        await env.start_gateway()
    await env.start_simulator(LATENCY_MS)
    results: dict[str, Any] = {
        "latency_ms": LATENCY_MS,
        "low_profiles": LOW_PROFILES,
        "goal_ms": GOAL_MS,
        "runs": [],
    }
    for n, lane in enumerate((False, True)):  # the reference first
        run = await burst(env, lane, f"bench.prio{n}", FIRST_ID + n * 0x1000)
        label = "LOW lane" if lane else "one queue (reference)"
        results["runs"].append(progress(f"9. HIGH behind LOW, {label}", run))
    await env.start_simulator(0)
    return results
