"""Seed 002: "High-priority items will pause the processing of low-priority ones." A HIGH request starts
beside the LOW fetches already running, and no new LOW fetch starts while HIGH work is in hand."""

import signal
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from libs.events import NewEvent
from libs.events.catalog import ProfileRequested, profile_stream
from services.profile_ingest.__main__ import build as build_ingest
from services.profile_ingest.settings import IngestSettings
from tests.conftest import make_settings
from tests.e2e.test_profile_ingest import _published, crawler, ingested_count, sim, stack  # noqa: F401
from tests.provider.provider_harness import RunningSimulator
from tests.support import infra
from tests.support.processes import ServiceProcess
from tests.support.runtime import running

# Long enough that a LOW fetch (the profile, then its reels beside its similar accounts and posts: two
# calls that wait on each other) is still running when the HIGH request has long been taken.
LATENCY_MS = 400


async def request(pool: asyncpg.Pool, name: str, priority: str, number: int) -> None:
    event = ProfileRequested(username=name, source="test", priority=priority, request_id=f"{number:08x}")
    async with pool.acquire() as conn:
        await crawler.append(conn, profile_stream(name), [NewEvent(event=event)], expected_version=0)


async def times(pool: asyncpg.Pool, event_type: str) -> dict[str, datetime]:
    """When each profile's first `event_type` happened, by username."""
    rows = await pool.fetch(
        "SELECT stream_id, min(occurred_at) AS at FROM eventstore.events WHERE event_type = $1 GROUP BY 1",
        event_type,
    )
    return {r["stream_id"].removeprefix("profile-"): r["at"] for r in rows}


async def lows_under_way(pool: asyncpg.Pool, n: int) -> bool:
    started = await times(pool, "ProfileIngestStarted")
    done = await times(pool, "ProfileIngested")
    return len(set(started) - set(done)) >= n


@pytest.mark.parametrize("lane", [True, False], ids=["low-lane", "one-queue"])
async def test_a_high_request_starts_beside_running_low_fetches_and_pauses_the_rest(
    stack: TestClient,  # noqa: F811 (a fixture: the relay that publishes the requests)
    sim: RunningSimulator,  # noqa: F811
    database_url: str,
    amqp_url: str,
    topology,
    pool: asyncpg.Pool,
    lane: bool,
) -> None:
    await sim.control("config", {"latency_ms": LATENCY_MS})
    lows = [f"crawled.low{i}" for i in range(12)]
    for i, name in enumerate(lows):
        await request(pool, name, "LOW", i)
    await infra.eventually(lambda: _published(pool), message="LOW requests published")
    settings = make_settings(
        IngestSettings, database_url, amqp_url, topology, ingest_concurrency=2, ingest_low_lane=lane
    )
    async with AsyncExitStack() as services:
        await services.enter_async_context(running(build_ingest(settings, sim.provider(timeout_s=5.0))))
        await infra.eventually(lambda: lows_under_way(pool, 2), message="both LOW slots fetching")
        running_lows = set(await times(pool, "ProfileIngestStarted"))
        await request(pool, "user.high", "HIGH", 0x100)

        async def high_done() -> bool:
            return "user.high" in await times(pool, "ProfileIngested")

        await infra.eventually(high_done, timeout_s=60, message="the HIGH request ingested")
        started = await times(pool, "ProfileIngestStarted")
        done = await times(pool, "ProfileIngested")
        high_start, high_end = started["user.high"], done["user.high"]
        first_low_done = min(done[name] for name in running_lows)
        if not lane:
            # Today's behaviour, the reference: the HIGH request waits for a running LOW fetch to end.
            assert high_start > first_low_done
            return
        assert high_start < first_low_done, "the HIGH request waited behind a running LOW fetch"
        low_starts_meanwhile = [n for n in lows if n in started and high_start < started[n] < high_end]
        assert low_starts_meanwhile == [], "a LOW fetch started while HIGH work was in hand"

        async def all_done() -> bool:
            return len(await times(pool, "ProfileIngested")) == len(lows) + 1

        await infra.eventually(
            all_done, timeout_s=90, message="every LOW request ingested after the HIGH one"
        )
    for name in [*lows, "user.high"]:
        assert await ingested_count(pool, name) == 1, name


async def _priority_work(port: int) -> float:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as resp:
        text = await resp.text()
    for line in text.splitlines():
        if line.startswith("viralspot_ingest_priority_work "):
            return float(line.split()[1])
    return 0.0


@pytest.mark.slow
async def test_low_requests_held_at_the_gate_survive_a_kill_and_are_each_ingested_once(
    stack: TestClient,  # noqa: F811
    sim: RunningSimulator,  # noqa: F811
    pool: asyncpg.Pool,
    service_env: dict[str, str],
    output_dir: Path,
) -> None:
    await sim.control("config", {"latency_ms": LATENCY_MS})
    lows = [f"held.low{i}" for i in range(8)]
    for i, name in enumerate(lows):
        await request(pool, name, "LOW", i)
    await infra.eventually(lambda: _published(pool), message="LOW requests published")
    port = infra.free_port()
    env = {**service_env, "OPS_PORT": str(port), "INGEST_CONCURRENCY": "2", **sim.provider_env()}
    log = output_dir / "ingest.log"
    first = ServiceProcess("services.profile_ingest", env, log).start()
    try:
        await first.wait_ready(f"http://127.0.0.1:{port}/readyz", timeout_s=60)
        await infra.eventually(lambda: lows_under_way(pool, 2), timeout_s=60, message="two LOW fetches")
        # Several HIGH requests, so HIGH work is still in hand after the running LOW fetches end and the
        # lane's next LOW messages wait at the gate, unacked.
        for i in range(4):
            await request(pool, f"held.high{i}", "HIGH", 0x100 + i)

        async def paused_with_lows_done() -> bool:
            done = await times(pool, "ProfileIngested")
            return await _priority_work(port) > 0 and len(set(done) & set(lows)) >= 2

        await infra.eventually(paused_with_lows_done, timeout_s=60, message="LOW paused behind HIGH")
    finally:
        first.kill(signal.SIGKILL)
        await first.wait_exit()
    second = ServiceProcess("services.profile_ingest", env, log).start()
    try:

        async def all_done() -> bool:
            return len(await times(pool, "ProfileIngested")) == len(lows) + 4

        await infra.eventually(all_done, timeout_s=120, message="every request ingested after the kill")
    finally:
        second.kill(signal.SIGTERM)
        await second.wait_exit()
    for name in [*lows, *(f"held.high{i}" for i in range(4))]:
        assert await ingested_count(pool, name) == 1, name
