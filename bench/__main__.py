"""`make bench`: every figure in one run, on an isolated database and vhost, written to bench/results/."""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import uvloop

from bench import (
    alerts,
    analysis,
    auth,
    backbone,
    decisions,
    discovery,
    http_load,
    ingest,
    priority,
    rebuild,
    report,
    scale,
    sse,
)
from bench.environment import BenchEnvironment, progress
from bench.http_load import ensure_bench_tools
from libs.runtime.logging import configure_logging

EVENTS = 20_000
BATCH_SIZES = (64, 1024, 256)  # the default (256) last: the projector keeps it for the HTTP figures
FIRST_ID = 0x20000000  # request ids of the preloaded events; the latency run uses 0x1.......


def cpu_model() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


async def machine(env: BenchEnvironment) -> dict[str, Any]:
    assert env.pool is not None and env.amqp is not None
    server = env.amqp.transport.connection.server_properties  # type: ignore[union-attr]
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": await env.pool.fetchval("SHOW server_version"),
        "rabbitmq": str(server.get("version", "unknown")),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        # Tests of other sessions share the CPUs and the disk; this says whether any were running.
        "other_postgres_sessions": await env.pool.fetchval(
            """SELECT count(*) FROM pg_stat_activity
               WHERE backend_type = 'client backend' AND datname <> current_database()"""
        ),
    }


async def backbone_figures(env: BenchEnvironment) -> dict[str, Any]:
    results: dict[str, Any] = {
        "append_to_projected": progress("1. append to projected", await backbone.append_latency(env)),
        "raw_broker": progress("2. raw broker round-trip", await backbone.raw_broker_throughput(env, EVENTS)),
        "projector": [],
    }
    for i, batch_size in enumerate(BATCH_SIZES):
        first_id = FIRST_ID + i * EVENTS
        figures = await backbone.projector_throughput(env, EVENTS, batch_size, first_id)
        results["projector"].append(progress(f"2. projector, batch size {batch_size}", figures))
    return results


# Run in this order; each one's figures go to results[name] and report.SECTIONS[name] renders them.
SECTIONS: dict[str, Callable[[BenchEnvironment], Awaitable[dict[str, Any]]]] = {
    "backbone": backbone_figures,
    "http": http_load.profile_requests,
    "ingest": ingest.section,
    "analysis": analysis.section,
    "status": analysis.status_section,
    "sse": sse.idle_streams,
    "discovery": discovery.section,
    "auth": auth.section,  # it runs a gateway of its own (and the feed's gives way before it)
    "priority": priority.section,
    "rebuild": rebuild.section,
    "decisions": decisions.section,
    "alerts": alerts.section,  # it runs a gateway of its own too, with webhooks (loopback allowed)
    "scale": scale.section,  # profile-ingest replicas; two gateways on a primary and its replica, HAProxy
}


def selected() -> list[str]:
    """BENCH_ONLY=ingest,status runs those sections alone; unset or empty runs them all."""
    wanted = [name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        sys.exit(f"BENCH_ONLY: unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    return [name for name in SECTIONS if name in wanted] if wanted else list(SECTIONS)


async def run(sections: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    results: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(timespec="seconds")}
    await ensure_bench_tools()
    async with BenchEnvironment() as env:
        results["machine"] = await machine(env)
        await env.start_gateway()
        await env.start_projector()
        for name in sections:
            results[name] = await SECTIONS[name](env)
    results["duration_s"] = round(time.monotonic() - started)
    return results


async def main() -> None:
    # SIGTERM cancels the run like Ctrl-C does, so the environment is still cleaned up.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    print(report.write(await run(selected())))


if __name__ == "__main__":
    configure_logging("bench", "WARNING")
    try:
        uvloop.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("bench interrupted; its processes, database and vhost were removed")
