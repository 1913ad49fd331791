"""Figure 13: scaling out (issue 19). Profile ingestion with 1, 2 and 3 profile-ingest replicas sharing
the work queue at 300 ms provider latency, against N times the single replica's measured rate; and the
status and browse reads through HAProxy over two gateways with a read replica, against one gateway
directly, in the same run.

The gateways of the second part run on a database of their own on the primary of
infra/scripts/postgres-replica.sh (its own ports and directory, so a test using the default pair is not
disturbed), with DATABASE_READ_URL on its streaming replica. Their status rows are copied from the
bench database after figure 6's jobs are projected there; their feed rows are the test set."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench import analysis, http_load
from bench.backbone import STORE, requested
from bench.cpu import CpuUse
from bench.discovery import feed_load
from bench.environment import BenchEnvironment, progress, wait_until
from bench.ingest import CRITICAL_PATH_CALLS, REELS, creators_with, empty_store, outcomes
from libs.events.catalog import profile_stream
from libs.events.migrate import migrate
from services.profile_ingest.settings import IngestSettings
from tests.support import feed_rows, infra
from tests.support.scraping import metric

LATENCY_MS = 300
REPLICAS = (1, 2, 3)
PROFILES = 160  # per run: about 25 s for one replica at its bound
SCALE_GOAL = 0.9
SOURCE = "bench_scale"
FIRST_ID = 0x60000000
ROOT = Path(__file__).resolve().parents[1]
PAIR_SCRIPT = ROOT / "infra" / "scripts" / "postgres-replica.sh"
HAPROXY_CFG = ROOT / "infra" / "haproxy" / "haproxy.cfg"
# Ports and directory of the bench's own primary and replica (the script's defaults are the tests').
PAIR_ENV = {"PG_PAIR_PORT_BASE": "5450", "PG_PAIR_DIR": "/tmp/vs-bench-postgres-pair"}
# The tables GET /api/viral-ideas/queue/{session_id} reads, parents first.
STATUS_TABLES = (
    "gateway.analysis_sessions",
    "readmodel.viral_ideas_queue",
    "readmodel.viral_ideas_competitors",
)
GATEWAYS = ("scale-gateway-a", "scale-gateway-b")
FEED_PATH = "/api/reels?limit=24"


async def handled(port: int) -> float:
    return await metric(
        port,
        "viralspot_events_consumed_total",
        consumer="profile-ingest",
        event_type="ProfileRequested",
        outcome="handled",
    )


async def ingest_with(env: BenchEnvironment, replicas: int, usernames: list[str], first_id: int) -> dict:
    """`replicas` fresh profile-ingest processes on the one work queue; the batch committed at once and
    timed from that commit to the last ProfileIngested, as figure 4 does."""
    assert env.pool is not None
    pool = env.pool
    concurrency = str(IngestSettings().ingest_concurrency)
    names = [f"profile-ingest-{i + 1}" for i in range(replicas)]
    for i, name in enumerate(names):
        await env.start_with_provider(
            name, "services.profile_ingest", INGEST_CONCURRENCY=concurrency, WORKER_ID=f"bench-ingest-{i + 1}"
        )
    streams = [profile_stream(name) for name in usernames]

    async def all_done() -> bool:
        done = await outcomes(env, streams)
        return done["ingested"] + done["failed"] >= len(usernames)

    try:
        with CpuUse(env.pids) as cpu:
            async with pool.acquire() as conn, conn.transaction():
                for i, username in enumerate(usernames):
                    event = requested(username, first_id + i, SOURCE)
                    await STORE.append(conn, profile_stream(username), [event], expected_version=0)
            committed = await pool.fetchval("SELECT extract(epoch FROM clock_timestamp())::float8")
            await wait_until(all_done, 60 + len(usernames) * LATENCY_MS / 100, "the profiles to be ingested")
        shares = [await handled(env.ports[name]) for name in names]
    finally:
        for name in names:
            await env.stop(name)
    done = await outcomes(env, streams)
    seconds = done["last"] - committed
    total = sum(shares) or 1
    return {
        "replicas": replicas,
        "profiles": len(usernames),
        "ingested": done["ingested"],
        "failed": done["failed"],
        "profiles_per_s": round(done["ingested"] / seconds, 2),
        "seconds": round(seconds, 2),
        "share": [round(n / total, 3) for n in shares],
        "handled": [int(n) for n in shares],
        "cpu_cores": cpu.cores,
    }


async def ingestion(env: BenchEnvironment) -> dict[str, Any]:
    await empty_store(env)
    await env.start_simulator(LATENCY_MS)
    concurrency = IngestSettings().ingest_concurrency
    names = await asyncio.to_thread(creators_with, REELS, PROFILES * len(REPLICAS), "bench.scale")
    bound = concurrency / (CRITICAL_PATH_CALLS * LATENCY_MS / 1000)
    results: dict[str, Any] = {
        "latency_ms": LATENCY_MS,
        "reels": REELS,
        "ingest_concurrency": concurrency,
        "critical_path_calls": CRITICAL_PATH_CALLS,
        "single_replica_bound": round(bound, 2),
        "goal": SCALE_GOAL,
        "runs": [],
    }
    for i, replicas in enumerate(REPLICAS):
        batch = names[i * PROFILES : (i + 1) * PROFILES]
        run = await ingest_with(env, replicas, batch, FIRST_ID + i * PROFILES)
        single = results["runs"][0]["profiles_per_s"] if results["runs"] else run["profiles_per_s"]
        run["ratio_to_n_single"] = round(run["profiles_per_s"] / (replicas * single), 2)
        run["ratio_to_bound"] = round(run["profiles_per_s"] / (replicas * bound), 2)
        results["runs"].append(progress(f"13. ingestion, {replicas} replica(s), {LATENCY_MS} ms", run))
    return results


async def pair_script(*args: str) -> str:
    """Its output through files, not pipes: the servers it starts would hold a pipe open for good."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = await asyncio.create_subprocess_exec(
            "bash", str(PAIR_SCRIPT), *args, env={**os.environ, **PAIR_ENV},
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=err,
        )  # fmt: skip
        await asyncio.wait_for(process.wait(), 180)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"postgres-replica.sh {' '.join(args)}: {err.read().decode().strip()}")
        return out.read().decode().strip()


@asynccontextmanager
async def replica_pair() -> AsyncIterator[tuple[str, str]]:
    """A database on the bench's primary, migrated, and its URL on the replica; the pair removed after."""
    try:
        await pair_script("start")
        primary, replica = (await pair_script("urls")).split()
        name = infra.unique("vs_bench_scale")
        admin = await asyncpg.connect(f"{primary}/postgres")
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        await migrate(f"{primary}/{name}")
        yield f"{primary}/{name}", f"{replica}/{name}"
    finally:
        await pair_script("stop")


async def copy_status_rows(env: BenchEnvironment, target: asyncpg.Connection) -> None:
    assert env.pool is not None
    async with env.pool.acquire() as source:
        for table in STATUS_TABLES:
            schema, name = table.split(".")
            rows = io.BytesIO()
            await source.copy_from_table(name, schema_name=schema, output=rows)
            rows.seek(0)
            await target.copy_to_table(name, schema_name=schema, source=rows)


@asynccontextmanager
async def haproxy(env: BenchEnvironment) -> AsyncIterator[str]:
    port = infra.free_port()
    ports = {"HAPROXY_PORT": str(port)}
    ports |= {f"GATEWAY_{x}_PORT": str(env.ports[name]) for x, name in zip("AB", GATEWAYS, strict=True)}
    log = (env.logs / "haproxy.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        "haproxy", "-db", "-f", str(HAPROXY_CFG), env={**os.environ, **ports}, stdout=log, stderr=log
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.close()


async def both_in_rotation(base: str) -> None:
    """Until consecutive requests through HAProxy reach both gateways (their health checks passed)."""
    async with aiohttp.ClientSession() as session:

        async def answering() -> bool:
            try:
                for _ in range(4):
                    async with session.get(f"{base}/readyz") as response:
                        if response.status != 200:
                            return False
            except aiohttp.ClientError:
                return False
            return True

        await wait_until(answering, 30, "HAProxy to answer")
        await asyncio.sleep(2.5)  # rise 1 at inter 1s: both servers checked at least once


async def reads(env: BenchEnvironment) -> dict[str, Any]:
    if shutil.which("haproxy") is None:
        return {"skipped": "haproxy not installed"}
    await analysis.pending_sessions(env)
    use_wrk, generator = http_load.load_generator()
    status_args = ("get", analysis.STATUS_PATH, analysis.STATUS_CONNECTIONS, analysis.STATUS_SESSIONS)
    results: dict[str, Any] = {
        "load_generator": generator,
        "status_connections": analysis.STATUS_CONNECTIONS,
        "seconds": http_load.SECONDS,
        "warmup_s": http_load.WARMUP_S,
    }
    async with replica_pair() as (primary_url, replica_url):
        pool = await asyncpg.create_pool(primary_url, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                await copy_status_rows(env, conn)
            await feed_rows.seed(pool, *feed_rows.varied_set())
        finally:
            await pool.close()
        try:
            for name in GATEWAYS:
                await env.start(
                    name,
                    "services.gateway",
                    "GATEWAY_PORT",
                    DATABASE_URL=primary_url,
                    DATABASE_READ_URL=replica_url,
                )
            direct = f"http://127.0.0.1:{env.ports[GATEWAYS[0]]}"

            async def replica_in_use() -> bool:
                usable = [await metric(env.ports[name], "viralspot_db_replica_usable") for name in GATEWAYS]
                return all(value == 1 for value in usable)

            await wait_until(replica_in_use, 30, "both gateways to read the replica")
            async with haproxy(env) as balanced:
                await both_in_rotation(balanced)
                for label, base in (("direct", direct), ("haproxy", balanced)):
                    figures = await http_load.measure(env, base, use_wrk, *status_args)
                    results[f"status_{label}"] = progress(f"13. status, {label}", figures)
                for label, base in (("direct", direct), ("haproxy", balanced)):
                    before = [await replica_reads(env, name) for name in GATEWAYS]
                    figures = await feed_load(env, base, use_wrk, FEED_PATH)
                    after = [await replica_reads(env, name) for name in GATEWAYS]
                    figures["replica_reads"] = [int(b - a) for a, b in zip(before, after, strict=True)]
                    results[f"browse_{label}"] = progress(f"13. browse, {label}", figures)
        finally:
            for name in GATEWAYS:
                await env.stop(name)
    for kind in ("status", "browse"):
        one, two = results[f"{kind}_direct"], results[f"{kind}_haproxy"]
        results[f"{kind}_ratio"] = round(two["requests_per_s"] / one["requests_per_s"], 2)
    return results


async def replica_reads(env: BenchEnvironment, gateway: str) -> float:
    return await metric(env.ports[gateway], "viralspot_db_browse_reads_total", target="replica")


async def section(env: BenchEnvironment) -> dict[str, Any]:
    return {"ingestion": await ingestion(env), "reads": await reads(env)}
