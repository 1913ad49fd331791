"""Fixtures: every test gets its own database (cloned from a migrated template) and its own exchange
and queue names inside a vhost made for this test session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import asyncpg
import pytest
from aiohttp import web

from infra.simulator import SimulatorConfig, create_app
from libs.events import RetryLadder, Subscription, Topology
from libs.events import topology as topology_mod
from libs.events.db import create_pool
from libs.events.migrate import migrate
from libs.events.topology import SUBSCRIPTIONS
from libs.runtime.config import ServiceSettings
from tests.provider.provider_harness import NOW, RunningSimulator, StartSimulator
from tests.support import infra

TEST_RETRY = RetryLadder(max_retries=3, base_delay_s=0.2, max_delay_s=2.0)


@pytest.fixture(scope="session", autouse=True)
def _sweep_abandoned_resources() -> None:
    """A killed test run cannot clean up after itself: the next one removes what it left."""
    asyncio.run(infra.sweep_abandoned())


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    vhost = infra.unique("vs_test")
    url = infra.create_vhost(vhost)
    yield url
    infra.delete_vhost(vhost)


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    name = infra.unique("vs_tmpl")

    async def build() -> None:
        await infra.create_database(name)
        await migrate(infra.database_url(name))

    asyncio.run(build())
    yield name
    asyncio.run(infra.drop_database(name))


@pytest.fixture
async def database_url(template_db: str) -> AsyncIterator[str]:
    name = infra.unique("vs_t")
    url = await infra.create_database(name, template=template_db)
    yield url
    await infra.drop_database(name)


# Tests add one consumer of their own: it counts how often each event is applied (must be once).
COUNTER = Subscription("counter", ("ProfileRequested",))


@pytest.fixture
def topology() -> Topology:
    return Topology(
        namespace=infra.unique("t"), retry=TEST_RETRY, subscriptions={**SUBSCRIPTIONS, "counter": COUNTER}
    )


@pytest.fixture
async def amqp(amqp_url: str, topology: Topology) -> AsyncIterator[aio_pika.abc.AbstractRobustConnection]:
    conn = await aio_pika.connect_robust(amqp_url, reconnect_interval=0.5)
    channel = await conn.channel()
    await topology_mod.declare(channel, topology)
    await channel.close()
    yield conn
    await conn.close()
    # A fresh connection: the test may have restarted the broker under the first one.
    await infra.wait_for_broker()
    cleanup = await aio_pika.connect(amqp_url)
    try:
        await topology_mod.delete(await cleanup.channel(), topology)
    finally:
        await cleanup.close()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=10)
    yield p
    await p.close()


@pytest.fixture
def service_env(database_url: str, amqp_url: str, topology: Topology) -> dict[str, str]:
    """Environment for a service process pointed at this test's database, vhost and names."""
    return {
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "EVENT_NAMESPACE": topology.namespace,
        "RETRY_MAX": str(topology.retry.max_retries),
        "RETRY_BASE_DELAY_S": str(topology.retry.base_delay_s),
        "RETRY_MAX_DELAY_S": str(topology.retry.max_delay_s),
        "LOG_LEVEL": "INFO",
        # An ephemeral ops port: the services' fixed defaults may be taken by `make run` or another test.
        "OPS_PORT": "0",
    }


@pytest.fixture
def settings(database_url: str, amqp_url: str, topology: Topology) -> ServiceSettings:
    return make_settings(ServiceSettings, database_url, amqp_url, topology)


def make_settings(cls: type[Any], database_url: str, amqp_url: str, topology: Topology, **extra: Any) -> Any:
    return cls(
        database_url=database_url,
        amqp_url=amqp_url,
        event_namespace=topology.namespace,
        retry_max=topology.retry.max_retries,
        retry_base_delay_s=topology.retry.base_delay_s,
        retry_max_delay_s=topology.retry.max_delay_s,
        shutdown_timeout_s=5,
        **{"ops_port": None, **extra},  # no fixed ops port: `make run` or another test may hold it
    )


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    path = Path(__file__).resolve().parents[1] / "test-output" / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
async def start_simulator() -> AsyncIterator[StartSimulator]:
    runners: list[web.AppRunner] = []
    session = aiohttp.ClientSession()

    async def start(**config: Any) -> RunningSimulator:
        config.setdefault("now", NOW)
        runner = web.AppRunner(create_app(SimulatorConfig(**config)), shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        return RunningSimulator(f"http://{host}:{port}", session)

    yield start
    await session.close()
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def simulator(start_simulator: StartSimulator) -> RunningSimulator:
    return await start_simulator(seed=42)
