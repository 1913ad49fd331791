"""Figures 1 and 2: append-to-projected latency, projector throughput next to the raw broker."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import asyncpg

from bench import raw_broker
from bench.cpu import CpuUse
from bench.environment import BenchEnvironment, wait_until
from bench.stats import summary_ms
from libs.events import EventStore, NewEvent
from libs.events.catalog import ProfileRequested, profile_stream

STORE = EventStore(producer="gateway")  # the gateway process's relay publishes what this appends


def requested(username: str, request_id: int, source: str) -> NewEvent:
    return NewEvent(
        event=ProfileRequested(
            username=username, source=source, priority="HIGH", request_id=f"{request_id:08x}"
        )
    )


async def projected_count(pool: asyncpg.Pool, source: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM readmodel.profile_queue WHERE source = $1", source)


RELAY_METRICS = ("viralspot_relay_batch_seconds_sum", "viralspot_relay_batch_seconds_count")
HANDLER_METRICS = ("viralspot_handler_duration_seconds_sum", "viralspot_handler_duration_seconds_count")


async def service_metrics(env: BenchEnvironment, service: str, names: tuple[str, ...]) -> dict[str, float]:
    """Each named series from a service's /metrics, summed over its labels."""
    url = f"http://127.0.0.1:{env.ports[service]}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    totals = dict.fromkeys(names, 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in totals:
            totals[name] += float(line.rsplit(" ", 1)[1])
    return totals


async def append_latency(
    env: BenchEnvironment,
    rate: int = 200,
    seconds: float = 10,
    source: str = "bench_latency",
    first_id: int = 0x10000000,
) -> dict[str, Any]:
    """Open-loop appends at a fixed rate, one new stream each; latency = projected_at - commit. Another
    figure measuring it again in the same run takes a source and request ids of its own."""
    assert env.pool is not None
    pool, total = env.pool, int(rate * seconds)
    committed: dict[str, float] = {}

    async def append(i: int) -> None:
        name = f"lat{first_id + i:x}"
        event = requested(name, first_id + i, source)
        async with pool.acquire() as conn, conn.transaction():
            await STORE.append(conn, profile_stream(name), [event], expected_version=0)
        committed[f"{first_id + i:08x}"] = time.time()

    relay_before = await service_metrics(env, "gateway", RELAY_METRICS)
    handler_before = await service_metrics(env, "projector", HANDLER_METRICS)
    loop = asyncio.get_running_loop()
    started = loop.time()
    tasks = []
    for i in range(total):
        # Scheduled by the clock, not by the previous append, so a slow commit does not lower the rate.
        await asyncio.sleep(max(0.0, started + i / rate - loop.time()))
        tasks.append(asyncio.create_task(append(i)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - started

    async def all_projected() -> bool:
        return await projected_count(pool, source) >= total

    await wait_until(all_projected, 60, "the projector to catch up")
    relay = await service_metrics(env, "gateway", RELAY_METRICS)
    handler = await service_metrics(env, "projector", HANDLER_METRICS)
    # published_at is set once the broker confirmed the event: it splits the latency into relaying
    # (pickup, publish, confirm) and consuming (delivery, projection).
    rows = await pool.fetch(
        """SELECT q.request_id, extract(epoch FROM q.projected_at)::float8 AS projected,
                  extract(epoch FROM e.published_at)::float8 AS published
           FROM readmodel.profile_queue q
           JOIN eventstore.events e ON e.stream_id = 'profile-' || q.username AND e.stream_version = 1
           WHERE q.source = $1""",
        source,
    )
    latencies = [r["projected"] - committed[r["request_id"]] for r in rows]
    relayed = [r["published"] - committed[r["request_id"]] for r in rows]
    batches = relay[RELAY_METRICS[1]] - relay_before[RELAY_METRICS[1]]
    relay_seconds = relay[RELAY_METRICS[0]] - relay_before[RELAY_METRICS[0]]
    handled = handler[HANDLER_METRICS[1]] - handler_before[HANDLER_METRICS[1]]
    handling_seconds = handler[HANDLER_METRICS[0]] - handler_before[HANDLER_METRICS[0]]
    return {
        "events": total,
        "seconds": seconds,
        "target_rate": rate,
        "achieved_rate": round(total / elapsed, 1),
        **summary_ms(latencies),
        "relayed": summary_ms(relayed),
        "relay_batches": int(batches),
        "relay_batch_mean_ms": round(relay_seconds / batches * 1000, 2),
        "relay_busy_fraction": round(relay_seconds / elapsed, 2),
        "projector_mean_ms_per_event": round(handling_seconds / handled * 1000, 2),
    }


async def raw_broker_throughput(env: BenchEnvironment, n: int = 20_000) -> dict[str, Any]:
    """N persistent messages through one durable queue: publisher here, consumer in its own process.

    Measured twice: publishing while consuming (the issue's round-trip), and draining a queue filled
    beforehand, which is how the projector is measured.
    """
    queue = f"{env.topology.namespace}.bench-raw"
    env.extra_queues.append(queue)
    messages = raw_broker.sample_messages(n)
    with CpuUse(env.pids) as round_trip_cpu:
        async with raw_broker.consumer_process(env.amqp_url, queue, n) as consumed:
            first_publish, last_confirm = await raw_broker.publish(env.amqp_url, queue, messages)
            round_trip = await consumed()
    await raw_broker.publish(env.amqp_url, queue, messages)
    with CpuUse(env.pids) as drain_cpu:
        async with raw_broker.consumer_process(env.amqp_url, queue, n) as consumed:
            backlog = await consumed()
    return {
        "messages": n,
        "body_bytes": len(messages[0].body),
        "prefetch": raw_broker.PREFETCH,
        "publish_batch": raw_broker.PUBLISH_BATCH,
        "publish_rate": round(n / (last_confirm - first_publish)),
        "events_per_s": round(n / (round_trip["last_ack"] - first_publish)),
        "backlog_events_per_s": round(n / (backlog["last_ack"] - backlog["first_delivery"])),
        "cpu_cores": round_trip_cpu.cores,
        "backlog_cpu_cores": drain_cpu.cores,
    }


async def preload(env: BenchEnvironment, n: int, source: str, first_id: int) -> dict[str, Any]:
    """Append N events (the projector is stopped) and wait until the gateway's relay published them all."""
    assert env.pool is not None
    pool = env.pool
    started = time.time()

    async def append_range(lo: int, hi: int) -> None:
        async with pool.acquire() as conn:
            for start in range(lo, hi, 500):
                async with conn.transaction():
                    for i in range(start, min(start + 500, hi)):
                        name = f"t{first_id + i:x}"
                        event = requested(name, first_id + i, source)
                        await STORE.append(conn, profile_stream(name), [event], expected_version=0)

    step = -(-n // 4)
    await asyncio.gather(*(append_range(lo, min(lo + step, n)) for lo in range(0, n, step)))
    appended = time.time()

    async def all_published() -> bool:
        return not await pool.fetchval("SELECT count(*) FROM eventstore.events WHERE published_at IS NULL")

    await wait_until(all_published, 120, "the outbox relay to publish the preloaded events")
    published = time.time()
    depth = await env.queue_depth("projector")
    assert depth >= n, f"projector queue holds {depth} messages, expected {n}"
    return {
        "append_rate": round(n / (appended - started)),
        "append_and_publish_s": round(published - started, 2),
    }


async def projector_throughput(
    env: BenchEnvironment, n: int, batch_size: int, first_id: int
) -> dict[str, Any]:
    """Stop the projector, preload N published events, start it and time it through the backlog."""
    assert env.pool is not None
    pool, source = env.pool, f"bench_tput_{batch_size}"
    await env.stop("projector")
    loaded = await preload(env, n, source, first_id)
    launched = time.time()

    async def all_projected() -> bool:
        return await projected_count(pool, source) >= n

    with CpuUse(env.pids) as cpu:
        await env.start_projector(batch_size)
        await wait_until(all_projected, 180, "the projector to drain its backlog")
    row = await pool.fetchrow(
        """SELECT extract(epoch FROM min(projected_at))::float8 AS first,
                  extract(epoch FROM max(projected_at))::float8 AS last
           FROM readmodel.profile_queue WHERE source = $1""",
        source,
    )
    return {
        "events": n,
        "batch_size": batch_size,
        **loaded,
        "events_per_s": round(n / (row["last"] - row["first"])),
        "with_startup_events_per_s": round(n / (row["last"] - launched)),
        "startup_s": round(row["first"] - launched, 2),
        "cpu_cores": cpu.cores,
    }
