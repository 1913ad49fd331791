"""A three-node RabbitMQ cluster (infra/scripts/rabbitmq-cluster.sh, beside the machine's own node):
the consumer queues are quorum queues, except the profile work queue (classic, for its priorities),
and a consumer given every node's address fails over when its node stops, with nothing lost or
applied twice."""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import asyncpg
import pytest
from prometheus_client import REGISTRY

from libs.events import EventStore, NewEvent, Topology
from libs.events import topology as topology_mod
from libs.events.broker import FailoverConnection, connect_robust
from libs.events.catalog import ProfileIngestFailed, ProfileRequested, profile_stream
from libs.events.publisher import to_message
from libs.runtime import ServiceSettings
from libs.runtime.loops import every
from services.profile_ingest.redrive import WorkQueueWatch
from tests.conftest import COUNTER, TEST_RETRY, make_settings
from tests.integration.test_consumer import envelope
from tests.support import infra
from tests.support.counting import COUNTS_TABLE, counting_runtime
from tests.support.runtime import running

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "infra" / "scripts" / "rabbitmq-cluster.sh"
EVENTS = 300


def _ports_free(base: int) -> bool:
    return all(infra.port_is_free(base + n) for n in (1, 2, 3))


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, str]]:
    base = next(b for b in range(25710, 26000, 10) if _ports_free(b) and _ports_free(b + 10000))
    env = {
        **os.environ,
        "CLUSTER_PORT_BASE": str(base),
        "CLUSTER_DIST_BASE": str(base + 10000),
        # Node names of the test's own: it runs beside a developer's cluster (vs-cluster-N).
        "CLUSTER_NAME": f"vs-test-{os.getpid()}",
        # Not under pytest's private temporary directory: the nodes run as the rabbitmq user.
        "CLUSTER_DIR": tempfile.mkdtemp(prefix="vs-rabbitmq-cluster-"),
    }
    try:
        subprocess.run(["bash", str(SCRIPT), "start"], env=env, check=True, timeout=300, capture_output=True)
        yield env
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, check=False, timeout=120, capture_output=True)


def cluster_cmd(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(["bash", str(SCRIPT), *args], env=env, check=True, timeout=180, capture_output=True)
    return done.stdout.decode()


def node_name(env: dict[str, str], n: int) -> str:
    return f"{env['CLUSTER_NAME']}-{n}@localhost"


def queues(env: dict[str, str], namespace: str, column: str, node: int = 1) -> dict[str, str]:
    """One column of `rabbitmqctl list_queues` for the namespace's queues, as `node` sees them."""
    out = subprocess.run(
        ["rabbitmqctl", "-q", "-n", node_name(env, node), "list_queues", "name", column],
        check=True, capture_output=True, timeout=60,
    ).stdout.decode()  # fmt: skip
    pairs = (line.split() for line in out.splitlines() if line.startswith(namespace + "."))
    return {name: value for name, value in pairs}


def queue_types(env: dict[str, str], namespace: str) -> dict[str, str]:
    return queues(env, namespace, "type")


async def _publish_until_confirmed(exchange: aio_pika.abc.AbstractExchange, event) -> None:
    """As the relay does: a quorum queue electing a new leader nacks what it cannot take yet, and
    the message is sent again (at least once; the consumer drops the duplicates)."""
    for attempt in range(20):
        try:
            await exchange.publish(to_message(event), routing_key="ProfileRequested")
            return
        except aio_pika.exceptions.DeliveryError:
            await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
    raise AssertionError(f"{event.event_id} never confirmed")


async def test_quorum_queues_and_a_consumer_failing_over_when_its_node_stops(
    cluster: dict[str, str], database_url: str, pool: asyncpg.Pool
) -> None:
    urls = cluster_cmd(cluster, "urls").strip()
    topology = Topology(
        namespace=infra.unique("cluster"), retry=TEST_RETRY, subscriptions={"counter": COUNTER},
        queue_type="quorum",
    )  # fmt: skip
    settings = make_settings(ServiceSettings, database_url, urls, topology, broker_queue_type="quorum")
    await pool.execute(COUNTS_TABLE)
    # The test's own queues (a consumer the product topology lacks finds them declared); the runtime
    # declares the product's as every service does in cluster mode.
    declaring = await connect_robust(urls)
    async with declaring.channel() as channel:
        await topology_mod.declare(channel, topology)
    await declaring.close()
    runtime = counting_runtime(settings)
    async with running(runtime):
        types = queue_types(cluster, settings.event_namespace)
        assert types[f"{topology.namespace}.counter"] == "quorum"
        assert types[f"{topology.namespace}.counter.dlq"] == "quorum"
        assert types[f"{topology.namespace}.counter.retry.1"] == "quorum"
        product = settings.topology()
        assert types[product.queue("profile-ingest")] == "classic"  # priorities
        assert types[product.queue("projector")] == types[product.queue("profile-ingest-low")] == "quorum"

        connection = runtime.amqp
        assert isinstance(connection, FailoverConnection)
        first = connection.node
        stopped = first.port - int(cluster["CLUSTER_PORT_BASE"])
        publish_to = next(u for u in urls.split(",") if f":{first.port}/" not in u)
        publisher = await aio_pika.connect(publish_to)
        events = [envelope(f"user{i}") for i in range(EVENTS)]
        try:
            out = await publisher.channel(publisher_confirms=True)
            exchange = await out.get_exchange(topology.exchange)
            for i, event in enumerate(events):
                await _publish_until_confirmed(exchange, event)
                if i == EVENTS // 3:
                    # The consumer's node goes away mid-stream (its quorum queue elects a new leader).
                    await asyncio.to_thread(cluster_cmd, cluster, "stop-node", str(stopped))
        finally:
            await publisher.close()

        async def all_counted() -> bool:
            return await pool.fetchval("SELECT count(*) FROM public.test_counts") >= EVENTS

        await infra.eventually(all_counted, timeout_s=120, message="every event applied after the failover")
        assert connection.node != first, "the consumer is still on the stopped node"
    counts = await pool.fetch("SELECT n FROM public.test_counts")
    assert len(counts) == EVENTS and {r["n"] for r in counts} == {1}
    await asyncio.to_thread(cluster_cmd, cluster, "start-node", str(stopped))


async def test_requests_the_work_queue_lost_with_its_node_are_sent_to_it_again(
    cluster: dict[str, str], pool: asyncpg.Pool
) -> None:
    """RabbitMQ 3.10 confirms a publish whose classic work queue is down when another queue took it,
    and drops the work queue's copy: profile-ingest's watch (redrive.py) sends it again once the queue
    is back, and leaves alone a request that already has its end."""
    urls = cluster_cmd(cluster, "urls").strip().split(",")
    topology = Topology(namespace=infra.unique("redrive"), retry=TEST_RETRY, queue_type="quorum")
    declaring = await aio_pika.connect(urls[0])  # the classic work queue lives on node 1
    async with declaring.channel() as channel:
        await topology_mod.declare(channel, topology)
    await declaring.close()
    work_queue = topology.queue("profile-ingest")
    store = EventStore("gateway")
    lost, finished = (ProfileRequested(username=u, source="test", priority="HIGH", request_id=f"{n:08x}")
                      for n, u in ((1, "lost.one"), (2, "done.one")))  # fmt: skip
    failed = ProfileIngestFailed(username="done.one", request_id=f"{2:08x}", attempts=1, will_retry=False,
                                 reason="gone", error_code="NOT_FOUND")  # fmt: skip
    async with pool.acquire() as conn:
        [lost_env] = await store.append(
            conn, profile_stream("lost.one"), [NewEvent(event=lost)], expected_version=0
        )
        [done_env] = await store.append(
            conn, profile_stream("done.one"), [NewEvent(event=finished)], expected_version=0
        )
        await store.append(conn, profile_stream("done.one"), [NewEvent(event=failed)], expected_version=1)

    watching = await connect_robust(",".join(urls[1:]))  # a replica on another node
    watch = WorkQueueWatch(pool, watching, work_queue, slack_s=5)
    outages = REGISTRY.get_sample_value("viralspot_profile_queue_outages_total") or 0
    redriven = REGISTRY.get_sample_value("viralspot_profile_requests_redriven_total") or 0
    ticking = asyncio.create_task(every(0.2, watch.tick, "test_watch"))
    publisher = await aio_pika.connect(urls[1])
    try:
        await asyncio.to_thread(cluster_cmd, cluster, "stop-node", "1")
        await infra.eventually(lambda: _true(watch.down_since), timeout_s=10, message="outage seen")
        # Published as the relay publishes, confirmed, and marked published: the work queue's copy is gone.
        channel = await publisher.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(topology.exchange)
        for env in (lost_env, done_env):
            await _publish_until_confirmed(exchange, env)
        await pool.execute("UPDATE eventstore.events SET published_at = now() WHERE published_at IS NULL")
        await asyncio.to_thread(cluster_cmd, cluster, "start-node", "1")

        async def back() -> bool:
            return watch.down_since is None

        await infra.eventually(back, timeout_s=60, message="the watch to find the queue back")
        check = await publisher.channel()
        queue = await check.declare_queue(work_queue, passive=True)
        message = await queue.get(timeout=5)
        assert message.message_id == str(lost_env.event_id)
        assert await queue.get(fail=False) is None  # the finished request was not sent
    finally:
        ticking.cancel()
        await publisher.close()
        await watching.close()
    assert REGISTRY.get_sample_value("viralspot_profile_queue_outages_total") == outages + 1
    assert REGISTRY.get_sample_value("viralspot_profile_requests_redriven_total") == redriven + 1


async def _true(value: object) -> bool:
    return value is not None
