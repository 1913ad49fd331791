"""The status cache (services/gateway/status_cache.py): polls raced against projected events never see
a state older than what the projector had committed when they were sent, on two gateway replicas each
with its own cache; a gateway whose live queue is cut answers what the database says."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY

from libs.events import EventStore, NewEvent
from libs.events.catalog import (
    AnalysisStarted,
    AnalysisUpdated,
    Event,
    ProfileIngestFailed,
    ProfileIngestStarted,
    ProfileRequested,
    ProgressUpdated,
    analysis_stream,
    profile_stream,
)
from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.gateway.job_events import LISTENER
from services.gateway.settings import GatewaySettings
from tests.e2e.test_viral_analysis import STRATEGY
from tests.integration.test_relay_and_restarts import projector_runtime
from tests.support import infra
from tests.support.runtime import running

UPDATES = 60  # AnalysisUpdated events: version 1 + k sets rerun_frequency_hours to k
PROGRESS = 60  # then AnalysisStarted, and ProgressUpdated events: progress p at version 2 + UPDATES + p
POLLERS = 8

CHECKPOINT = "SELECT coalesce(max(version), 0) FROM readmodel.stream_checkpoints WHERE stream_id = $1"


def cache_reads(outcome: str) -> float:
    total = 0.0
    for endpoint in ("job", "profile"):
        labels = {"endpoint": endpoint, "outcome": outcome}
        total += REGISTRY.get_sample_value("viralspot_status_cache_reads_total", labels) or 0.0
    return total


def answered_version(job: dict[str, Any]) -> int:
    """The stream version a job answer shows: each event of the test leaves its own mark."""
    if job["status"] == "processing":
        return 2 + UPDATES + job["progress_percentage"]
    hours = job["rerun_frequency_hours"]
    return 1 if hours == 168 else 1 + hours


async def append(store: EventStore, pool: asyncpg.Pool, stream: str, event: Event, version: int) -> None:
    async with pool.acquire() as conn:
        await store.append(conn, stream, [NewEvent(event=event)], expected_version=version - 1)


async def test_polls_raced_against_events_never_see_an_older_state_than_projected(
    gateway_settings: GatewaySettings, amqp, aiohttp_client
) -> None:
    replicas = [ServiceRuntime("gateway", gateway_settings, stateless_db=True) for _ in range(2)]
    async with running(*replicas, projector_runtime(gateway_settings)):
        apis = [await aiohttp_client(create_app(r, gateway_settings)) for r in replicas]
        pool = replicas[0].pool
        assert pool is not None
        body = {
            "session_id": "cache-race",
            "primary_username": "fitwithmaya",
            "content_strategy": STRATEGY,
            "rerun_frequency_hours": 168,
        }
        created = await apis[0].post("/api/viral-ideas/queue", json=body)
        assert created.status == 201, await created.text()
        queue_id = (await created.json())["data"]["id"]
        stream = analysis_stream(queue_id)
        await infra.eventually(lambda: _at_least(pool, stream, 1), timeout_s=20, message="the job projected")
        hits_before, stale_before = cache_reads("hit"), cache_reads("stale")
        done = asyncio.Event()
        seen: list[tuple[int, int, int]] = []

        async def poll(api: TestClient) -> None:
            while not done.is_set():
                before = await pool.fetchval(CHECKPOINT, stream)
                response = await api.get("/api/viral-ideas/queue/cache-race")
                assert response.status == 200, await response.text()
                shown = answered_version((await response.json())["data"])
                after = await pool.fetchval(CHECKPOINT, stream)
                seen.append((before, shown, after))
                # What the projector had committed before the poll was sent is in its answer; nothing
                # the projector had not committed when it was answered is.
                assert before <= shown <= after, (before, shown, after)

        async def write() -> None:
            store = EventStore(producer="gateway")
            version = 1
            for k in range(1, UPDATES + 1):
                version += 1
                update = AnalysisUpdated(queue_id=queue_id, rerun_frequency_hours=k)
                await append(store, pool, stream, update, version)
                await asyncio.sleep(random.uniform(0, 0.02))
            version += 1
            lease = datetime.now(UTC) + timedelta(minutes=5)
            started = AnalysisStarted(queue_id=queue_id, run=1, worker="test", lease_expires_at=lease)
            await append(store, pool, stream, started, version)
            for p in range(1, PROGRESS + 1):
                version += 1
                progress = ProgressUpdated(queue_id=queue_id, run=1, step="analyzing", progress=p)
                await append(store, pool, stream, progress, version)
                await asyncio.sleep(random.uniform(0, 0.02))
            await infra.eventually(
                lambda: _at_least(pool, stream, version), timeout_s=30, message="every event projected"
            )
            await asyncio.sleep(0.2)  # polls of the final state: all of them hits
            done.set()

        pollers = [asyncio.create_task(poll(apis[i % 2])) for i in range(POLLERS)]
        await write()
        await asyncio.gather(*pollers)
    final = 2 + UPDATES + PROGRESS
    assert max(shown for _, shown, _ in seen) == final
    # The race was run: answers of many versions, many from memory, entries found stale and read again.
    assert len({shown for _, shown, _ in seen}) > (UPDATES + PROGRESS) // 4, len(seen)
    assert cache_reads("hit") - hits_before > len(seen) // 4
    assert cache_reads("stale") - stale_before > 10


async def _at_least(pool: asyncpg.Pool, stream: str, version: int) -> bool:
    return bool(await pool.fetchval(CHECKPOINT, stream) >= version)


async def test_a_gateway_whose_live_queue_is_cut_answers_what_the_database_says(
    gateway_settings: GatewaySettings, amqp, aiohttp_client
) -> None:
    gateway = ServiceRuntime("gateway", gateway_settings, stateless_db=True)
    uncached = gateway_settings.model_copy(update={"status_cache_entries": 0})
    async with running(gateway, projector_runtime(gateway_settings)):
        cached_api = await aiohttp_client(create_app(gateway, gateway_settings))
        fresh_api = await aiohttp_client(create_app(gateway, uncached))
        await cached_api.app[LISTENER].stop()  # its live queue is gone: no event reaches this process
        pool = gateway.pool
        assert pool is not None
        store = EventStore(producer="gateway")
        username = "cutlivequeue"
        stream = profile_stream(username)
        events: list[Event] = [
            ProfileRequested(username=username, source="test", priority="HIGH", request_id="0000c0de"),
            ProfileIngestStarted(username=username, request_id="0000c0de", attempt=1),
            _failed(username, attempts=1, will_retry=True),
            ProfileIngestStarted(username=username, request_id="0000c0de", attempt=2),
            _failed(username, attempts=2, will_retry=False),
        ]
        hits_before = cache_reads("hit")

        async def same_answers(path: str) -> None:
            for _ in range(3):  # the second and third from memory, when the answer is kept
                cached = await cached_api.get(path)
                fresh = await fresh_api.get(path)
                assert cached.status == fresh.status == 200
                assert await cached.read() == await fresh.read()  # byte for byte, at once

        for version, event in enumerate(events, start=1):
            await append(store, pool, stream, event, version)
            await infra.eventually(
                lambda v=version: _at_least(pool, stream, v), timeout_s=20, message=f"version {version}"
            )
            await same_answers(f"/api/profile/{username}/status")
        last = await (await cached_api.get(f"/api/profile/{username}/status")).json()
        # A job's answer too, kept before each change and read again after it.
        body = {"session_id": "cache-cut", "primary_username": "fitwithmaya", "content_strategy": STRATEGY}
        created = await fresh_api.post("/api/viral-ideas/queue", json=body)
        job_stream = analysis_stream((await created.json())["data"]["id"])
        for version in range(1, 5):
            if version > 1:
                update = AnalysisUpdated(
                    queue_id=job_stream.removeprefix("analysis-"), rerun_frequency_hours=version
                )
                await append(store, pool, job_stream, update, version)
            await infra.eventually(
                lambda v=version: _at_least(pool, job_stream, v), timeout_s=20, message=f"job {version}"
            )
            await same_answers("/api/viral-ideas/queue/cache-cut")
    assert last["data"]["status"] == "failed" and last["data"]["attempts"] == 2
    assert cache_reads("hit") - hits_before >= 4 + 8  # processing, failed and the job's, from memory


def _failed(username: str, attempts: int, will_retry: bool) -> ProfileIngestFailed:
    return ProfileIngestFailed(
        username=username,
        request_id="0000c0de",
        attempts=attempts,
        will_retry=will_retry,
        reason="the provider said no",
        error_code="E",
    )
