"""GET /api/viral-ideas/queue/{session_id}/events at the HTTP level: order, end, 404, cleanup, shutdown."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY

from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.gateway.job_events import HUB
from services.gateway.live import LiveEvent
from services.gateway.settings import GatewaySettings
from services.viral_analysis.domain import STEPS
from tests.e2e.test_viral_analysis import COMPETITORS, submit
from tests.support import infra


@dataclass
class Frame:
    event: str
    id: int | None
    data: Any


async def frames(response: aiohttp.ClientResponse) -> AsyncIterator[Frame]:
    """The stream's events (comments as event ':'), until the server ends it."""
    fields: dict[str, str] = {}
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith(":"):
            yield Frame(":", None, line[1:].strip())
        elif line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        elif "data" in fields:
            event_id = fields.get("id")
            yield Frame(
                fields.get("event", "message"),
                int(event_id) if event_id else None,
                json.loads(fields["data"]),
            )
            fields = {}
        else:
            fields = {}


async def collect(response: aiohttp.ClientResponse, timeout_s: float = 90) -> list[Frame]:
    async def read() -> list[Frame]:
        return [f async for f in frames(response)]

    return await asyncio.wait_for(read(), timeout_s)


def gauge(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_stream_carries_progress_in_order_and_ends_after_completion(
    api: TestClient, analysis, sim
) -> None:
    await sim.control("config", {"latency_ms": 60})
    created = await submit(api, "sse-order", competitors=COMPETITORS[:3])
    async with api.get("/api/viral-ideas/queue/sse-order/events") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        received = await collect(response)
    events = [f for f in received if f.event != ":"]
    assert events[0].event == "status" and events[0].data["session_id"] == "sse-order"
    assert events[0].data["id"] == created["id"]
    assert events[-1].event == "completed" and events[-1].data["status"] == "completed"
    ids = [f.id for f in events]
    assert ids == sorted(ids) and len(set(ids[1:])) == len(ids) - 1, ids
    progress = [f.data["progress"] for f in events if f.event == "progress"]
    assert progress == sorted(progress) and progress[-1] == 100
    steps = [f.data["step"] for f in events if f.event == "progress"]
    expected = [s for s, _ in STEPS if s != "queued"]
    assert steps == expected[len(expected) - len(steps) :] and len(steps) >= 4, steps
    competitors = {f.data["username"]: f.data["status"] for f in events if f.event == "competitor"}
    assert competitors == dict.fromkeys(COMPETITORS[:3], "completed")
    # Reconnecting at once: the snapshot may not show the completion yet (the projector lags by
    # milliseconds), and what it lacks is replayed, up to the end.
    async with api.get("/api/viral-ideas/queue/sse-order/events") as response:
        again = [f for f in await collect(response, 10) if f.event != ":"]
    assert again[0].event == "status" and again[-1].data["status"] == "completed"
    assert again[-1].id == events[-1].id
    await infra.eventually(lambda: _job_completed(api), timeout_s=10, message="the completion projected")
    async with api.get("/api/viral-ideas/queue/sse-order/events") as response:
        later = [f for f in await collect(response, 10) if f.event != ":"]
    assert [f.event for f in later] == ["status"] and later[0].data["status"] == "completed"
    assert later[0].id is not None and later[0].id >= events[-1].id


async def _job_completed(api: TestClient) -> bool:
    response = await api.get("/api/viral-ideas/queue/sse-order")
    return (await response.json())["data"]["status"] == "completed"


async def test_unknown_or_invalid_session_is_answered_in_json(api: TestClient) -> None:
    response = await api.get("/api/viral-ideas/queue/no-such-session/events")
    body = await response.json()
    assert response.status == 404 and body["error_code"] == "QUEUE_NOT_FOUND" and body["success"] is False
    response = await api.get("/api/viral-ideas/queue/%20/events")
    assert response.status == 400 and (await response.json())["error_code"] == "INVALID_SESSION_ID"


async def test_stream_drops_duplicates_sends_heartbeats_and_honours_last_event_id(api: TestClient) -> None:
    created = await submit(api, "sse-dup", competitors=[])  # nothing processes it: only our events come
    hub = api.app[HUB]
    async with api.get("/api/viral-ideas/queue/sse-dup/events", headers={"Last-Event-ID": "3"}) as response:
        stream = frames(response)
        first = await anext(stream)
        assert first.event == "status" and first.id == 3  # never behind what the client already had
        for version in (2, 5, 5, 6):  # an old one, a duplicate delivery
            hub.publish(created["id"], LiveEvent("progress", version, {"progress": version * 10}))
        hub.publish(created["id"], LiveEvent("cancelled", 7, {"status": "cancelled"}, terminal=True))
        rest = await asyncio.wait_for(collect_from(stream), 10)
    events = [(f.event, f.id) for f in rest if f.event != ":"]
    assert events == [("progress", 5), ("progress", 6), ("cancelled", 7)]


async def collect_from(stream: AsyncIterator[Frame]) -> list[Frame]:
    return [f async for f in stream]


async def test_idle_stream_gets_heartbeats(api: TestClient) -> None:
    await submit(api, "sse-beat", competitors=[])
    async with api.get("/api/viral-ideas/queue/sse-beat/events") as response:
        stream = frames(response)
        assert (await anext(stream)).event == "status"
        beat = await asyncio.wait_for(anext(stream), 5)
        assert beat.event == ":" and beat.data == "keepalive"


async def test_client_leaving_is_removed_from_the_hub(api: TestClient) -> None:
    await submit(api, "sse-leave", competitors=[])
    hub = api.app[HUB]
    before = gauge("viralspot_sse_clients")
    response = await api.get("/api/viral-ideas/queue/sse-leave/events")
    assert (await anext(frames(response))).event == "status"
    assert len(hub) == 1 and gauge("viralspot_sse_clients") == before + 1
    response.close()  # the browser tab closes
    await infra.eventually(lambda: _async(len(hub) == 0), timeout_s=5, message="the stream to be dropped")
    assert gauge("viralspot_sse_clients") == before


async def _async(value: bool) -> bool:
    return value


async def test_streams_beyond_the_cap_are_refused_with_retry_after(api: TestClient) -> None:
    await submit(api, "sse-cap", competitors=[])
    api.app[HUB].max_clients = 1
    async with api.get("/api/viral-ideas/queue/sse-cap/events") as first:
        assert (await anext(frames(first))).event == "status"
        refused = await api.get("/api/viral-ideas/queue/sse-cap/events")
        assert refused.status == 503 and refused.headers["Retry-After"]
        assert (await refused.json())["error_code"] == "SERVICE_UNAVAILABLE"


async def test_gateway_shutdown_ends_open_streams_quickly(
    gateway_runtime: ServiceRuntime, gateway_settings: GatewaySettings
) -> None:
    runner = web.AppRunner(create_app(gateway_runtime, gateway_settings), shutdown_timeout=30)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    async with aiohttp.ClientSession() as session:
        body = {
            "session_id": "sse-shutdown",
            "primary_username": "fitwithmaya",
            "content_strategy": {"contentType": "x", "targetAudience": "y", "goals": "z"},
        }
        async with session.post(f"{base}/api/viral-ideas/queue", json=body) as created:
            assert created.status == 201
        streams = [await session.get(f"{base}/api/viral-ideas/queue/sse-shutdown/events") for _ in range(3)]
        readers = []
        for response in streams:
            stream = frames(response)
            assert (await anext(stream)).event == "status"
            readers.append(asyncio.ensure_future(collect_from(stream)))
        started = time.monotonic()
        await runner.cleanup()  # what SIGTERM does in services/gateway/__main__.py
        assert time.monotonic() - started < 5
        await asyncio.wait_for(asyncio.gather(*readers), 5)  # every stream reached its end
        for response in streams:
            response.close()
