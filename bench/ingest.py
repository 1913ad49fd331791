"""Figure 4: profile ingestion throughput (50 reels each) with the simulator at 0 and 300 ms, and memory."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.backbone import STORE, requested
from bench.cpu import CpuUse
from bench.environment import SIMULATOR_SEED, BenchEnvironment, progress, wait_until
from bench.memory import PeakMemory
from infra.simulator.world import creator
from libs.events.catalog import profile_stream
from services.profile_ingest.settings import IngestSettings

REELS = 50
PROFILES_BY_LATENCY_MS = {0: 200, 300: 100}
# One ingestion's provider calls that wait on each other: the profile first (a private or unknown
# account stops there), then its reels and its similar accounts side by side. 50 reels are one page
# of the client's 50-reel pages, so the reels are one call.
CRITICAL_PATH_CALLS = 2
BOUND_GOAL = 0.9
SOURCE = "bench_ingest"
FIRST_ID = 0x30000000


def creators_with(reels: int, count: int, prefix: str) -> list[str]:
    """Usernames whose simulated creator has exactly `reels` reels, so each ingests exactly that many."""
    names: list[str] = []
    i = 0
    while len(names) < count:
        name = f"{prefix}{i}"
        if creator(SIMULATOR_SEED, name).reel_count == reels:
            names.append(name)
        i += 1
    return names


async def outcomes(env: BenchEnvironment, streams: list[str]) -> dict[str, Any]:
    assert env.pool is not None
    row = await env.pool.fetchrow(
        """SELECT count(*) FILTER (WHERE event_type = 'ProfileIngested') AS ingested,
                  count(*) FILTER (WHERE event_type = 'ProfileIngestFailed'
                                   AND NOT (payload->>'will_retry')::boolean) AS failed,
                  extract(epoch FROM min(occurred_at) FILTER (WHERE event_type = 'ProfileIngested'))::float8
                      AS first,
                  extract(epoch FROM max(occurred_at) FILTER (WHERE event_type = 'ProfileIngested'))::float8
                      AS last,
                  avg(jsonb_array_length(payload->'reels')) FILTER (WHERE event_type = 'ProfileIngested')
                      AS reels,
                  percentile_disc(0.5) WITHIN GROUP (ORDER BY (payload->>'duration_ms')::int)
                      FILTER (WHERE event_type = 'ProfileIngested') AS fetch_p50_ms
           FROM eventstore.events
           WHERE stream_id = ANY($1) AND event_type IN ('ProfileIngested', 'ProfileIngestFailed')""",
        streams,
    )
    return dict(row)


async def ingest_burst(env: BenchEnvironment, latency_ms: int, usernames: list[str], first_id: int) -> dict:
    """All requests committed at once, then timed from that commit to the last ProfileIngested."""
    assert env.pool is not None
    pool = env.pool
    await env.start_simulator(latency_ms)
    streams = [profile_stream(name) for name in usernames]
    calls_before = await env.simulator_calls()
    ingest = env.processes["profile-ingest"].proc
    assert ingest is not None

    async def all_done() -> bool:
        done = await outcomes(env, streams)
        return done["ingested"] + done["failed"] >= len(usernames)

    async with PeakMemory(ingest.pid) as memory:
        with CpuUse(env.pids) as cpu:
            async with pool.acquire() as conn, conn.transaction():
                for i, name in enumerate(usernames):
                    event = requested(name, first_id + i, SOURCE)
                    await STORE.append(conn, profile_stream(name), [event], expected_version=0)
            committed = time.time()
            await wait_until(all_done, 60 + len(usernames) * latency_ms / 100, "the profiles to be ingested")
    done = await outcomes(env, streams)
    calls = await env.simulator_calls() - calls_before
    figures: dict[str, Any] = {
        "latency_ms": latency_ms,
        "profiles": len(usernames),
        "ingested": done["ingested"],
        "failed": done["failed"],
        "reels_per_profile": round(float(done["reels"] or 0), 1),
        "provider_calls_per_profile": round(calls / len(usernames), 2),
        "profiles_per_s": round(done["ingested"] / (done["last"] - committed), 2),
        "seconds": round(done["last"] - committed, 2),
        "first_completed_s": round(done["first"] - committed, 3),
        "fetch_p50_ms": done["fetch_p50_ms"],
        "cpu_cores": cpu.cores,
        "memory": memory.figures(),
    }
    if latency_ms:
        concurrency = IngestSettings().ingest_concurrency
        bound = concurrency / (CRITICAL_PATH_CALLS * latency_ms / 1000)
        figures["bound"] = {
            "ingest_concurrency": concurrency,
            "critical_path_calls": CRITICAL_PATH_CALLS,
            "profiles_per_s": round(bound, 2),
            "ratio": round(figures["profiles_per_s"] / bound, 2),
            "goal": BOUND_GOAL,
        }
    return figures


async def empty_store(env: BenchEnvironment) -> None:
    """The store emptied once the relay has nothing in flight, so no earlier request slips through."""
    assert env.pool is not None
    pool = env.pool

    async def outbox_empty() -> bool:
        return not await pool.fetchval("SELECT count(*) FROM eventstore.events WHERE published_at IS NULL")

    await wait_until(outbox_empty, 120, "the gateway's relay to publish what earlier figures appended")
    await env.reset_store()


async def section(env: BenchEnvironment) -> dict[str, Any]:
    """A fresh profile-ingest process on an emptied store: nothing queued before may reach it."""
    await empty_store(env)
    await env.start_simulator(0)
    settings = IngestSettings()
    await env.start_with_provider(
        "profile-ingest", "services.profile_ingest", INGEST_CONCURRENCY=str(settings.ingest_concurrency)
    )
    total = sum(PROFILES_BY_LATENCY_MS.values())
    names = await asyncio.to_thread(creators_with, REELS, total, "bench.ingest")
    results: dict[str, Any] = {
        "reels": REELS,
        "ingest_concurrency": settings.ingest_concurrency,
        "reels_limit": settings.ingest_reels_limit,
        "fetch_similar": settings.ingest_fetch_similar,
        "runs": [],
    }
    offset = 0
    for latency_ms, count in PROFILES_BY_LATENCY_MS.items():
        run = await ingest_burst(env, latency_ms, names[offset : offset + count], FIRST_ID + offset)
        results["runs"].append(progress(f"4. profile ingestion, provider latency {latency_ms} ms", run))
        offset += count
    await env.stop("profile-ingest")
    return results
