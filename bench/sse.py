"""Idle SSE streams against the status endpoint: GET /api/viral-ideas/queue/{session_id} under wrk with
no open streams, then with IDLE_STREAMS open (held by a separate process), on one gateway process.

Goal: the streams slow the status endpoint by at most 20% (req/s ratio >= 0.8).
Holder alone: python -m bench.sse URL SESSION_ID COUNT
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import aiohttp
import uvloop

from bench import http_load
from bench.environment import BenchEnvironment, progress, wait_until

IDLE_STREAMS = 500
SESSION_PREFIX = "bench-sse-"
STATUS_PATH = "/api/viral-ideas/queue/" + SESSION_PREFIX  # the "get" mode appends 0
GOAL_RPS_RATIO = 0.8


async def idle_streams(env: BenchEnvironment, streams: int = IDLE_STREAMS) -> dict[str, Any]:
    """Needs the gateway and the projector running in `env`; the job is never processed (no worker)."""
    base_url = f"http://127.0.0.1:{env.ports['gateway']}"
    session_id = f"{SESSION_PREFIX}0"
    body = {
        "session_id": session_id,
        "primary_username": "benchcreator",
        "content_strategy": {"contentType": "bench", "targetAudience": "bench", "goals": "bench"},
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base_url}/api/viral-ideas/queue", json=body) as response:
            assert response.status in (201, 409), await response.text()

        async def projected() -> bool:
            async with session.get(f"{base_url}{STATUS_PATH}0") as response:
                return response.status == 200

        await wait_until(projected, 30, "the bench job to be projected")
    use_wrk, generator = http_load.load_generator()
    args = ("get", STATUS_PATH, http_load.CONNECTIONS, 1)
    results: dict[str, Any] = {
        "load_generator": generator,
        "idle_streams": streams,
        "connections": http_load.CONNECTIONS,
        "seconds": http_load.SECONDS,
    }
    figures = await http_load.measure(env, base_url, use_wrk, *args)
    results["without_streams"] = progress("SSE. status, no open streams", figures)
    # The streams are held by their own process, so its CPU is not the gateway's or wrk's.
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.sse", base_url, session_id, str(streams), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        ready = await asyncio.wait_for(holder.stdout.readline(), 60)
        if not ready.startswith(b"READY"):
            raise RuntimeError(f"the stream holder failed: {ready!r}")
        figures = await http_load.measure(env, base_url, use_wrk, *args)
        results["with_streams"] = progress(f"SSE. status, {streams} idle streams open", figures)
    finally:
        holder.terminate()
        await holder.wait()
    before, after = results["without_streams"], results["with_streams"]
    results["rps_ratio"] = round(after["requests_per_s"] / before["requests_per_s"], 3)
    results["p99_ratio"] = round(after["p99_ms"] / before["p99_ms"], 3) if before["p99_ms"] else None
    results["goal_met"] = results["rps_ratio"] >= GOAL_RPS_RATIO
    return results


async def hold(base_url: str, session_id: str, count: int) -> None:
    """Open `count` streams, print READY once each has its first event, then keep them open."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        url = f"{base_url}/api/viral-ideas/queue/{session_id}/events"
        responses = await asyncio.gather(*(session.get(url) for _ in range(count)))
        for response in responses:
            if response.status != 200:
                print(f"FAILED {response.status}", flush=True)
                return
            await response.content.readuntil(b"\n\n")  # retry:
            await response.content.readuntil(b"\n\n")  # the status snapshot
        print("READY", flush=True)

        async def drain(response: aiohttp.ClientResponse) -> None:
            async for _ in response.content.iter_any():  # the heartbeats
                pass

        await asyncio.gather(*(drain(r) for r in responses))


if __name__ == "__main__":
    url, session_id, count = sys.argv[1:]
    uvloop.run(hold(url, session_id, int(count)))
