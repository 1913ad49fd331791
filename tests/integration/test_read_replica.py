"""The gateway with a streaming replica (DATABASE_READ_URL; infra/scripts/postgres-replica.sh makes a
primary and its replica beside the machine's server): browse reads come from the replica while it is
within REPLICA_MAX_LAG_S, and from the primary once it falls further behind; status and
read-your-writes never read it."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY

from libs.events import Topology
from libs.events.migrate import migrate
from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.conftest import make_settings
from tests.support import infra
from tests.support.feed_rows import Creator, insert_creators
from tests.support.runtime import running

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "infra" / "scripts" / "postgres-replica.sh"
MAX_LAG_S = 3.0


def free_pair_base() -> int:
    """A port base whose +1 and +2 are free: this test's pair never meets `make bench`'s or another's."""
    for _ in range(50):
        base = infra.free_port() - 1
        if infra.port_is_free(base + 1) and infra.port_is_free(base + 2):
            return base
    raise RuntimeError("no two free ports in a row")


PAIR_ENV = {"PG_PAIR_PORT_BASE": str(free_pair_base()), "PG_PAIR_DIR": f"/tmp/{infra.unique('vs-pg-pair')}"}


def script(*args: str) -> str:
    done = subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **PAIR_ENV},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[str, str]]:
    script("start")
    primary, replica = script("urls").split()
    try:
        yield primary, replica
    finally:
        script("stop")


@pytest.fixture
async def databases(pair: tuple[str, str]) -> AsyncIterator[tuple[str, str]]:
    """A database of this test's own on the primary; the replica has it as soon as it has replayed."""
    name = infra.unique("vs_replica")

    async def admin(sql: str) -> None:
        # A connection each time: a test may restart the primary in between.
        conn = await asyncpg.connect(f"{pair[0]}/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await admin(f'CREATE DATABASE "{name}"')
    try:
        await migrate(f"{pair[0]}/{name}")
        yield f"{pair[0]}/{name}", f"{pair[1]}/{name}"
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def profile_status(api: TestClient, username: str) -> int:
    async with api.get(f"/api/profile/{username}") as resp:
        return resp.status


async def test_browse_reads_follow_the_replica_within_its_lag_and_the_primary_beyond(
    databases: tuple[str, str], amqp_url: str, topology: Topology, aiohttp_client
) -> None:
    primary_url, replica_url = databases
    settings = make_settings(
        GatewaySettings, primary_url, amqp_url, topology, database_read_url=replica_url,
        replica_max_lag_s=MAX_LAG_S, replica_check_s=0.2,
    )  # fmt: skip
    primary = await asyncpg.create_pool(primary_url, min_size=1, max_size=2)
    runtime = ServiceRuntime("gateway", settings, stateless_db=True)
    try:
        async with running(runtime):
            api: TestClient = await aiohttp_client(create_app(runtime, settings))
            await insert_creators(primary, [Creator("seen.first")])
            await infra.eventually(lambda: _is(profile_status(api, "seen.first"), 200), message="replayed")
            await infra.eventually(lambda: _is(_usable(), 1.0), message="the replica in use")

            script("pause-replay")
            try:
                replica_reads = sample("viralspot_db_browse_reads_total", target="replica")
                await insert_creators(primary, [Creator("written.later")])
                # The replica has not replayed it and is still within its bound: browse reads miss it...
                assert await profile_status(api, "written.later") == 404
                assert sample("viralspot_db_browse_reads_total", target="replica") > replica_reads
                # ...while a command and its status read the primary: fresh whatever the replica says.
                async with api.post("/api/profile/asked.now/request") as resp:
                    assert resp.status == 200 and (await resp.json())["data"]["queued"] is True
                async with api.get("/api/profile/asked.now/status") as resp:
                    assert resp.status == 200 and (await resp.json())["data"]["status"] == "pending"
                # Past the bound, browse reads go to the primary.
                await infra.eventually(
                    lambda: _is(_usable(), 0.0), timeout_s=MAX_LAG_S + 10, message="too far behind"
                )
                assert sample("viralspot_db_replica_lag_seconds") > MAX_LAG_S
                assert await profile_status(api, "written.later") == 200
            finally:
                script("resume-replay")
            await infra.eventually(lambda: _is(_usable(), 1.0), message="caught up, in use again")
            assert sample("viralspot_db_replica_lag_seconds") <= MAX_LAG_S
            assert await profile_status(api, "written.later") == 200
    finally:
        await primary.close()


async def _usable() -> float:
    return sample("viralspot_db_replica_usable")


async def _is(value: object, wanted: object) -> bool:
    if asyncio.iscoroutine(value):
        value = await value
    return value == wanted
