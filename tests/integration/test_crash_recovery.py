"""kill -9 of consumers mid-batch: after a restart every event is applied exactly once."""

import asyncio
import signal
from pathlib import Path

import aio_pika
import asyncpg
import pytest

from libs.events import Topology
from libs.events.publisher import to_message
from libs.runtime import ServiceRuntime
from tests.integration.test_consumer import envelope
from tests.integration.test_relay_and_restarts import append_requests
from tests.support import infra
from tests.support.counting import COUNTS_TABLE
from tests.support.processes import ServiceProcess
from tests.support.runtime import running

pytestmark = pytest.mark.slow


async def _count(pool: asyncpg.Pool, sql: str) -> int:
    return int(await pool.fetchval(sql))


async def _kill_when(pool: asyncpg.Pool, proc: ServiceProcess, sql: str, at_least: int) -> int:
    seen = await infra.eventually(
        lambda: _at_least(pool, sql, at_least), timeout_s=60, interval_s=0.01, message="progress before kill"
    )
    proc.kill(signal.SIGKILL)
    await proc.wait_exit()
    return seen


async def _at_least(pool: asyncpg.Pool, sql: str, n: int) -> int | None:
    value = await _count(pool, sql)
    return value if value >= n else None


async def test_counter_consumer_killed_mid_batch_applies_every_event_once(
    pool: asyncpg.Pool,
    amqp: aio_pika.abc.AbstractRobustConnection,
    topology: Topology,
    service_env: dict[str, str],
    output_dir: Path,
) -> None:
    await pool.execute(COUNTS_TABLE)
    n = 1500
    channel = await amqp.channel(publisher_confirms=True)
    exchange = await channel.get_exchange(topology.exchange)
    await asyncio.gather(
        *(
            exchange.publish(to_message(envelope(f"user{i}")), routing_key="ProfileRequested")
            for i in range(n)
        )
    )
    env = {
        **service_env,
        "OPS_PORT": str(infra.free_port()),
        "COUNTER_BATCH": "50",
        "COUNTER_DELAY_S": "0.001",
    }
    proc = ServiceProcess("tests.support.counting", env, output_dir / "counter.log").start()
    killed_at = await _kill_when(pool, proc, "SELECT count(*) FROM public.test_counts", 300)
    assert killed_at < n, "the consumer finished before it could be killed"
    restarted = ServiceProcess("tests.support.counting", env, output_dir / "counter.log").start()
    try:
        await infra.eventually(
            lambda: _at_least(pool, "SELECT count(*) FROM public.test_counts", n),
            timeout_s=90,
            message="all events counted after restart",
        )
        assert await _count(pool, "SELECT max(n) FROM public.test_counts") == 1
        assert await _count(pool, "SELECT count(*) FROM eventstore.inbox WHERE consumer = 'counter'") == n
    finally:
        restarted.kill(signal.SIGTERM)
        assert await restarted.wait_exit() == 0, restarted.logs()


async def test_projector_killed_mid_stream_resumes_with_an_identical_read_model(
    pool: asyncpg.Pool,
    amqp: aio_pika.abc.AbstractRobustConnection,
    settings,
    service_env: dict[str, str],
    output_dir: Path,
) -> None:
    n = 1500
    async with running(ServiceRuntime("gateway", settings)):
        await append_requests(pool, n, rate_per_s=100000)
        env = {**service_env, "OPS_PORT": str(infra.free_port()), "PROJECTOR_BATCH_SIZE": "64"}
        proc = ServiceProcess("services.projector", env, output_dir / "projector.log").start()
        await _kill_when(pool, proc, "SELECT count(*) FROM readmodel.profile_queue", 200)
        restarted = ServiceProcess("services.projector", env, output_dir / "projector.log").start()
        try:
            await infra.eventually(
                lambda: _at_least(pool, "SELECT count(*) FROM readmodel.profile_queue", n),
                timeout_s=90,
                message="all requests projected after restart",
            )
            assert (
                await _count(pool, "SELECT count(*) FROM readmodel.stream_checkpoints WHERE version = 1") == n
            )
            assert await _count(pool, "SELECT count(DISTINCT request_id) FROM readmodel.profile_queue") == n
        finally:
            restarted.kill(signal.SIGTERM)
            assert await restarted.wait_exit() == 0, restarted.logs()
