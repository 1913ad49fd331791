"""Issue 19's proof on one machine: the three-node RabbitMQ cluster (quorum queues; the profile work
queue a classic priority queue on one node), a PostgreSQL primary with its streaming replica, and the
services as several processes each: profile-ingest 3, viral-analysis 2, crawler 2, projector 2, gateway
2 behind HAProxy, alerts 1. Under a few hundred profile requests, ten analyses and a crawl, a broker
node stops and comes back (one without the profile work queue first, then the one holding it), one
replica of each worker is SIGKILLed and replaced, and the primary database restarts. Afterwards every
request completed exactly once, nothing is left unpublished or dead-lettered, the read models equal a
rebuild from the store, and every replica did part of the work. It prints its figures."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from libs.events.catalog import profile_stream
from tests.integration.test_broker_cluster import cluster, cluster_cmd, queues  # noqa: F401 (fixture)
from tests.integration.test_read_replica import databases, pair, script  # noqa: F401 (fixtures)
from tests.ops.conftest import projector_caught_up
from tests.provider.provider_harness import RunningSimulator
from tests.support import infra
from tests.support.cli import viralspot
from tests.support.processes import ServiceProcess
from tests.support.scraping import metric

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

HAPROXY_CFG = Path(__file__).resolve().parents[2] / "infra" / "haproxy" / "haproxy.cfg"
ADMIN = {"Authorization": "Bearer cluster-admin-token"}
PROFILES = 240
CRAWLED = 20
ANALYSES = 10
REPLICAS = {"profile-ingest": 3, "viral-analysis": 2, "crawler": 2, "projector": 2, "alerts": 1}
MODULES = {name: "services." + name.replace("-", "_") for name in REPLICAS}
# What each worker's share is counted by: the messages its consumers handled.
CONSUMED = "viralspot_events_consumed_total"
STRATEGY = {"contentType": "Fitness tips", "targetAudience": "Busy parents", "goals": "Grow followers"}


class System:
    """The processes of the test, by name ("profile-ingest-1", "gateway-a"), and what each did."""

    def __init__(self, env: dict[str, str], urls: list[str], logs: Path) -> None:
        self.env, self.urls, self.logs = env, urls, logs
        self.procs: dict[str, ServiceProcess] = {}
        self.ports: dict[str, int] = {}
        self.done_before: dict[str, float] = {}  # the work of replicas killed, counted before the kill

    def start(self, name: str, module: str, index: int, **extra: str) -> ServiceProcess:
        port = self.ports.setdefault(name, infra.free_port())
        # Each process lists the nodes from a different one: connections spread over the cluster.
        urls = ",".join(self.urls[index % 3 :] + self.urls[: index % 3])
        # A gateway serves /readyz and /metrics on its HTTP port; its ops port stays out of the way.
        ops = infra.free_port() if module == "services.gateway" else port
        env = {**self.env, "AMQP_URL": urls, "OPS_PORT": str(ops), "GATEWAY_PORT": str(port),
               "WORKER_ID": name, **extra}  # fmt: skip
        self.procs[name] = ServiceProcess(module, env, self.logs / f"{name}.log").start()
        return self.procs[name]

    async def ready(self, name: str) -> None:
        await self.procs[name].wait_ready(f"http://127.0.0.1:{self.ports[name]}/readyz", timeout_s=90)

    async def work(self, name: str) -> float:
        if name.startswith("gateway"):
            return await metric(self.ports[name], "viralspot_http_requests_total", method="POST")
        return await metric(self.ports[name], CONSUMED, outcome="handled")

    async def kill_and_replace(self, name: str, **extra: str) -> None:
        self.done_before[name] = self.done_before.get(name, 0) + await self.work(name)
        proc = self.procs[name]
        proc.kill(signal.SIGKILL)
        await proc.wait_exit()
        self.start(name, proc.module, list(self.procs).index(name), **extra)
        await self.ready(name)

    async def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.kill(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                await proc.wait_exit(40)
            except TimeoutError:
                proc.kill(signal.SIGKILL)


@asynccontextmanager
async def haproxy(ports: tuple[int, int], logs: Path) -> AsyncIterator[str]:
    port = infra.free_port()
    env = {**os.environ, "HAPROXY_PORT": str(port), "GATEWAY_A_PORT": str(ports[0]),
           "GATEWAY_B_PORT": str(ports[1])}  # fmt: skip
    with (logs / "haproxy.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            "haproxy", "-db", "-f", str(HAPROXY_CFG), env=env, stdout=log, stderr=log
        )
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            await process.wait()


async def call(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    """As a frontend would: a request cut by a gateway's death or the balancer's switch is sent again.
    Each request here is safe to repeat (a profile request is once per username, an analysis once per
    session id: a repeat answers 200 or 409 instead of doing it twice)."""
    for attempt in range(60):
        try:
            async with session.request(method, url, timeout=aiohttp.ClientTimeout(total=15), **kwargs) as r:
                if r.status < 500:
                    return r.status, await r.json()
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(min(0.2 * 2**attempt, 2.0))
    raise AssertionError(f"{method} {url} never answered")


def queue_node(env: dict[str, str], namespace: str) -> int:
    """The node (1-3) the classic profile work queue lives on."""
    pid = queues(env, namespace, "pid", node=2)[f"{namespace}.profile-ingest"]
    return int(pid.split(f"{env['CLUSTER_NAME']}-")[1][0])


def dead_letters(env: dict[str, str], namespace: str) -> dict[str, int]:
    counts = queues(env, namespace, "messages", node=2)
    return {name: int(count) for name, count in counts.items() if name.endswith(".dlq") and int(count)}


async def node_outage(env: dict[str, str], node: int, seconds: float) -> None:
    await asyncio.to_thread(cluster_cmd, env, "stop-node", str(node))
    await asyncio.sleep(seconds)
    await asyncio.to_thread(cluster_cmd, env, "start-node", str(node))


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (make tools)")
async def test_the_cluster_survives_node_replica_and_database_failures(
    cluster: dict[str, str],  # noqa: F811 (fixture)
    databases: tuple[str, str],  # noqa: F811 (fixture)
    start_simulator,
    tmp_path: Path,
) -> None:
    primary_url, replica_url = databases
    sim: RunningSimulator = await start_simulator(seed=19)
    await sim.control("config", {"latency_ms": 30})
    namespace = infra.unique("vs_cluster")
    urls = cluster_cmd(cluster, "urls").strip().split(",")
    env = {
        "DATABASE_URL": primary_url, "BROKER_QUEUE_TYPE": "quorum", "EVENT_NAMESPACE": namespace,
        "LOG_LEVEL": "INFO", "ADMIN_TOKEN": ADMIN["Authorization"].split()[1], **sim.provider_env(),
        "ANALYSIS_POLL_INTERVAL_S": "0.2", "CRAWLER_POLL_INTERVAL_S": "0.2",
        "RATE_LIMIT_PROFILES": "off", "RATE_LIMIT_ANALYSES": "off", "WEBHOOK_SIGNING_KEY": "ab" * 32,
    }  # fmt: skip
    system = System(env, urls, tmp_path)
    names: list[str] = []
    # The first process declares the topology: the profile work queue lands on its first node.
    system.start("profile-ingest-1", MODULES["profile-ingest"], 0)
    await system.ready("profile-ingest-1")
    index = 1
    for service, count in REPLICAS.items():
        for n in range(1, count + 1):
            name = f"{service}-{n}"
            names.append(name)
            if name != "profile-ingest-1":
                system.start(name, MODULES[service], index)
                index += 1
    for gateway in ("gateway-a", "gateway-b"):
        names.append(gateway)
        system.start(gateway, "services.gateway", index, DATABASE_READ_URL=replica_url)
        index += 1
    try:
        for name in names:
            await system.ready(name)
        async with haproxy((system.ports["gateway-a"], system.ports["gateway-b"]), tmp_path) as base:
            figures = await _load_and_break(system, cluster, base, namespace, primary_url)
        await _check(system, cluster, names, namespace, primary_url, figures)
    finally:
        await system.stop_all()


async def _load_and_break(
    system: System, nodes: dict[str, str], base: str, namespace: str, primary_url: str
) -> dict[str, Any]:
    usernames = [f"cluster.creator{i:03d}" for i in range(PROFILES)]
    batches = iter([usernames[i : i + PROFILES // 4] for i in range(0, PROFILES, PROFILES // 4)])
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:

        async def request(batch: list[str]) -> None:
            for username in batch:
                path = f"{base}/api/profile/{username}/request?source=cluster"
                status, _ = await call(session, "POST", path)
                assert status in (200, 201, 202), status
                await asyncio.sleep(0.05)

        async def analyses() -> None:
            for i in range(ANALYSES):
                body = {"session_id": f"cluster-session-{i}", "primary_username": f"cluster.primary{i}",
                        "selected_competitors": [f"cluster.rival{i}a", f"cluster.rival{i}b"],
                        "content_strategy": STRATEGY}  # fmt: skip
                status, _ = await call(session, "POST", f"{base}/api/viral-ideas/queue", json=body)
                assert status in (201, 409), status
                await asyncio.sleep(3)

        async def kills() -> None:
            for name in ("profile-ingest-2", "viral-analysis-1", "crawler-1", "projector-1", "alerts-1"):
                await system.kill_and_replace(name)
            read_url = system.procs["gateway-b"].env["DATABASE_READ_URL"]
            await system.kill_and_replace("gateway-a", DATABASE_READ_URL=read_url)

        status, crawl = await call(
            session, "POST", f"{base}/api/crawler/runs", headers=ADMIN,
            json={"seed_usernames": ["money.kim", "chef_leo"], "target_profiles": CRAWLED, "per_seed_limit": 10},
        )  # fmt: skip
        assert status == 202, crawl
        submitting = asyncio.ensure_future(analyses())
        pq_node = queue_node(nodes, namespace)
        other = next(n for n in (1, 2, 3) if n != pq_node)
        # A quarter of the requests during each failure: the requests published while the work
        # queue's node is down are the ones RabbitMQ drops from it (and profile-ingest sends again).
        await asyncio.gather(node_outage(nodes, other, 5), request(next(batches)))
        await asyncio.gather(node_outage(nodes, pq_node, 8), request(next(batches)))
        await asyncio.gather(kills(), request(next(batches)))
        await asyncio.gather(asyncio.to_thread(script, "restart-primary"), request(next(batches)))
        await submitting
        loaded_s = time.monotonic() - started

        async def all_done() -> bool:
            async with session.get(f"{base}/api/crawler/runs/{crawl['data']['run_id']}", headers=ADMIN) as r:
                crawled = r.status == 200 and (await r.json())["data"]["status"] == "completed"
            conn = await asyncpg.connect(primary_url)
            try:
                finished = await conn.fetchval(_FINISHED_PROFILES, [profile_stream(u) for u in usernames])
                analysed = await conn.fetchval(
                    "SELECT count(DISTINCT stream_id) FROM eventstore.events WHERE event_type = 'AnalysisCompleted'"
                )
            finally:
                await conn.close()
            return crawled and finished == PROFILES and analysed == ANALYSES

        await infra.eventually(all_done, timeout_s=300, interval_s=2, message="every request finished")
    return {
        "usernames": usernames,
        "work_queue_node": pq_node,
        "load_s": round(loaded_s, 1),
        "all_done_s": round(time.monotonic() - started, 1),
    }


_FINISHED_PROFILES = """
SELECT count(DISTINCT stream_id) FROM eventstore.events
WHERE stream_id = ANY($1::text[]) AND event_type IN ('ProfileIngested', 'ProfileIngestFailed')
"""
# Every request (ours, the analyses', the crawl's) and how many ends it has: one each.
_ENDS_PER_REQUEST = """
SELECT r.payload->>'request_id' AS request_id, r.stream_id, count(t.position) AS ends
FROM eventstore.events r
LEFT JOIN eventstore.events t
  ON t.stream_id = r.stream_id AND t.event_type IN ('ProfileIngested', 'ProfileIngestFailed')
 AND t.payload->>'request_id' = r.payload->>'request_id'
WHERE r.event_type = 'ProfileRequested'
GROUP BY 1, 2
"""


async def _check(
    system: System,
    cluster_env: dict[str, str],
    names: list[str],
    namespace: str,
    primary_url: str,
    figures: dict[str, Any],
) -> None:
    pool = await asyncpg.create_pool(primary_url, min_size=1, max_size=2)
    try:
        await infra.eventually(lambda: projector_caught_up(pool), timeout_s=60, message="projector caught up")

        async def outbox_empty() -> bool:
            return (
                await pool.fetchval("SELECT count(*) FROM eventstore.events WHERE published_at IS NULL") == 0
            )

        await infra.eventually(outbox_empty, timeout_s=60, message="every event published")
        ends = await pool.fetch(_ENDS_PER_REQUEST)
        not_once = [dict(r) for r in ends if r["ends"] != 1]
        failed = await pool.fetchval(
            "SELECT count(*) FROM eventstore.events WHERE event_type = 'ProfileIngestFailed'"
        )
        analyses = await pool.fetch(
            """SELECT stream_id, count(*) FILTER (WHERE event_type = 'AnalysisCompleted') AS completed,
                      count(*) FILTER (WHERE event_type = 'AnalysisFailed') AS failed
               FROM eventstore.events WHERE stream_id LIKE 'analysis-%' GROUP BY stream_id"""
        )
        crawls = await pool.fetchval(
            "SELECT count(*) FROM eventstore.events WHERE event_type = 'CrawlCompleted'"
        )
        parked = await pool.fetchval("SELECT count(*) FROM eventstore.parked_events")
    finally:
        await pool.close()
    shares = {name: system.done_before.get(name, 0) + await system.work(name) for name in names}
    redriven = sum(
        [await metric(system.ports[n], "viralspot_profile_requests_redriven_total") for n in names
         if n.startswith("profile-ingest")]
    )  # fmt: skip
    rebuilt = await viralspot(
        {**os.environ, **system.env, "AMQP_URL": ",".join(system.urls)},
        "readmodels", "rebuild", "--schema", "cluster_rebuild", "--compare", timeout_s=300,
    )  # fmt: skip
    figures |= {"requests": len(ends), "ingest_failed": failed, "analyses": len(analyses),
                "redriven_after_outage": redriven, "parked": parked,
                "work_by_replica": {n: int(v) for n, v in shares.items()}}  # fmt: skip
    figures.pop("usernames")
    print("cluster figures:", figures)
    assert not_once == [], not_once[:10]
    assert len(ends) == PROFILES + CRAWLED  # analyses fetch their profiles themselves
    assert [dict(a) for a in analyses if (a["completed"], a["failed"]) != (1, 0)] == []
    assert len(analyses) == ANALYSES and crawls == 1
    assert parked == 0 and dead_letters(cluster_env, namespace) == {}
    assert rebuilt.code == 0 and "identical" in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
    assert all(v > 0 for v in shares.values()), shares
