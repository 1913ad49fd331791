"""Figure 3: POST /api/profile/{username}/request under wrk, next to a bare aiohttp JSON endpoint."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.cpu import CpuUse
from bench.environment import BenchEnvironment, progress, wait_until

CONNECTIONS = 32
SECONDS = 10
WARMUP_S = 2
DUPLICATES = 64  # usernames queued beforehand and then requested over and over
LUA = Path(__file__).with_name("profile_requests.lua")


ENSURE_TOOLS = Path(__file__).resolve().parents[1] / "infra" / "scripts" / "ensure-bench-tools.sh"


async def ensure_bench_tools() -> None:
    """Install wrk when it is missing and we may; without it the figures come from bench.loadgen."""
    process = await asyncio.create_subprocess_exec(
        "bash", str(ENSURE_TOOLS), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        print(f"wrk unavailable, using the Python load generator: {out.decode().strip()}", flush=True)


def load_generator() -> tuple[bool, str]:
    use_wrk = shutil.which("wrk") is not None
    return use_wrk, "wrk -t1" if use_wrk else "python aiohttp (bench.loadgen)"


async def load(
    base_url: str,
    use_wrk: bool,
    mode: str,
    prefix: str,
    seconds: float,
    connections: int = CONNECTIONS,
    count: int = DUPLICATES,
    tokens: Path | None = None,
) -> dict[str, Any]:
    """`tokens`: a file of bearer tokens, one a line, sent in turn as Authorization (mode get)."""
    args = [mode, prefix, str(count)] + ([str(tokens)] if tokens is not None else [])
    if use_wrk:
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(LUA)]
        command += [base_url, "--", *args]
    else:
        command = [sys.executable, "-m", "bench.loadgen", base_url, str(seconds), str(connections), *args]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), seconds + 60)
    lines = [line for line in out.decode().splitlines() if line.startswith("BENCH_JSON ")]
    if not lines:
        raise RuntimeError(f"load generator gave no figures: {out.decode()} {err.decode()}")
    raw = orjson.loads(lines[0].removeprefix("BENCH_JSON "))
    return {
        "requests_per_s": round(raw["requests"] / (raw["duration_us"] / 1e6)),
        **{f"{p}_ms": round(raw[f"{p}_us"] / 1000, 2) for p in ("p50", "p90", "p99", "max")},
        "requests": raw["requests"],
        "non_2xx": raw["non_2xx"],
        "socket_errors": raw["socket_errors"],
        "timeouts": raw["timeouts"],
    }


async def measure(
    env: BenchEnvironment,
    base_url: str,
    use_wrk: bool,
    mode: str,
    prefix: str,
    connections: int = CONNECTIONS,
    count: int = DUPLICATES,
    *,
    seconds: float = SECONDS,
    warmup_s: float = WARMUP_S,
    tokens: Path | None = None,
) -> dict[str, Any]:
    # The warm-up asks for other new usernames, so the measured run's are still new.
    warmup_prefix = prefix + "w" if mode == "new" else prefix
    await load(base_url, use_wrk, mode, warmup_prefix, warmup_s, connections, count, tokens)
    with CpuUse(env.pids) as cpu:
        figures = await load(base_url, use_wrk, mode, prefix, seconds, connections, count, tokens)
    return {**figures, "cpu_cores": cpu.cores}


async def queue_depth(env: BenchEnvironment) -> int:
    assert env.pool is not None
    return await env.pool.fetchval(
        "SELECT count(*) FROM readmodel.profile_queue WHERE status IN ('PENDING', 'PROCESSING')"
    )


async def profile_requests(env: BenchEnvironment) -> dict[str, Any]:
    """Bare reference first (alone on the machine), then the gateway from an empty store."""
    assert env.pool is not None
    use_wrk, generator = load_generator()
    results: dict[str, Any] = {
        "load_generator": generator,
        "connections": CONNECTIONS,
        "seconds": SECONDS,
        "warmup_s": WARMUP_S,
        "duplicate_usernames": DUPLICATES,
    }
    await env.start("reference", "bench.reference_app", "REFERENCE_PORT")
    reference = await measure(env, f"http://127.0.0.1:{env.ports['reference']}", use_wrk, "new", "ref")
    results["reference"] = progress("3. bare aiohttp reference", reference)
    await env.stop("reference")

    await env.reset_store()
    gateway = f"http://127.0.0.1:{env.ports['gateway']}"
    async with aiohttp.ClientSession() as session:
        for i in range(DUPLICATES):
            async with session.post(f"{gateway}/api/profile/dup{i}/request") as response:
                assert response.status == 200, await response.text()

    async def all_queued() -> bool:
        return await queue_depth(env) >= DUPLICATES

    await wait_until(all_queued, 30, "the duplicate usernames to be projected")

    cases = (("duplicate", "duplicate"), ("new", "new"), ("duplicate_after_new", "duplicate"))
    for name, mode in cases:
        prefix = "dup" if mode == "duplicate" else "new"
        depth = await queue_depth(env)
        figures = {"queue_depth_before": depth, **await measure(env, gateway, use_wrk, mode, prefix)}
        # The relay runs in the gateway's event loop: events it has not published yet at the end.
        figures["outbox_backlog_after"] = await env.pool.fetchval(
            "SELECT count(*) FROM eventstore.events WHERE published_at IS NULL"
        )
        results[name] = progress(f"3. gateway, {name}", figures)
    return results
