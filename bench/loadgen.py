"""Fallback load generator when wrk cannot be installed: aiohttp, N keep-alive connections, own process.

Same requests (modes new, duplicate, get) and the same BENCH_JSON line as profile_requests.lua. It is
slower than wrk, so a ceiling it reports may be its own.
Usage: python -m bench.loadgen URL SECONDS CONNECTIONS MODE PREFIX [COUNT [TOKENS_FILE]]
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp
import orjson
import uvloop

from bench.stats import percentile


async def run(
    base: str, seconds: float, connections: int, mode: str, prefix: str, count: int, tokens: list[str]
) -> None:
    latencies: list[float] = []
    non_2xx = errors = 0
    deadline = time.monotonic() + seconds

    async def connection(worker: int, session: aiohttp.ClientSession) -> None:
        nonlocal non_2xx, errors
        sent = 0
        while time.monotonic() < deadline:
            sent += 1
            if mode == "get":
                method, url = "GET", f"{base}{prefix}{(sent * 7 + worker) % count}"
            elif mode == "duplicate":
                method, url = "POST", f"{base}/api/profile/{prefix}{(sent * 7 + worker) % count}/request"
            else:
                method, url = "POST", f"{base}/api/profile/{prefix}{worker}_{sent}/request"
            headers = {"Authorization": f"Bearer {tokens[(sent + worker) % len(tokens)]}"} if tokens else None
            started = time.perf_counter()
            try:
                async with session.request(method, url, headers=headers) as response:
                    await response.read()
                    non_2xx += not 200 <= response.status < 300
            except aiohttp.ClientError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=connections)
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(connection(w + 1, session) for w in range(connections)))
    duration = time.monotonic() - started
    us = {f"p{p}_us": int(percentile(latencies, p) * 1e6) for p in (50, 90, 99)}
    line = {
        "requests": len(latencies),
        "duration_us": int(duration * 1e6),
        "non_2xx": non_2xx,
        "socket_errors": errors,
        "timeouts": 0,
        **us,
        "max_us": int(max(latencies) * 1e6),
    }
    print("BENCH_JSON " + orjson.dumps(line).decode(), flush=True)


if __name__ == "__main__":
    url, seconds, connections, mode, prefix, *rest = sys.argv[1:]
    tokens = open(rest[1]).read().split() if len(rest) > 1 else []
    uvloop.run(run(url, float(seconds), int(connections), mode, prefix, int(rest[0]) if rest else 0, tokens))
