"""Fixtures for the `viralspot` command line: the installed script run as a subprocess, and a database
filled by real flows (gateway, projector, profile-ingest and viral-analysis against the simulator)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from services.profile_ingest.__main__ import build as build_ingest
from services.profile_ingest.settings import IngestSettings
from services.viral_analysis.__main__ import build as build_analysis
from tests.conftest import make_settings
from tests.e2e.conftest import api, gateway_runtime, gateway_settings  # noqa: F401 (fixtures)
from tests.e2e.test_profile_ingest import wait_status
from tests.e2e.test_viral_analysis import COMPETITORS, analysis_settings, submit, wait_job
from tests.provider.provider_harness import RunningSimulator
from tests.support import infra
from tests.support.cli import VIRALSPOT, CliResult, viralspot  # noqa: F401 (used by the ops tests)
from tests.support.runtime import running

PROFILES = ("chef.marco", "travel.with.noa")
SESSION = "session-ops"


@pytest.fixture
def cli_env(service_env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **service_env}


@dataclass(frozen=True)
class Filled:
    queue_id: str
    session_id: str
    profiles: tuple[str, ...]


async def projector_caught_up(pool: asyncpg.Pool) -> bool:
    behind = await pool.fetchval(
        """SELECT count(*) FROM (SELECT stream_id, max(stream_version) AS v FROM eventstore.events
                                 GROUP BY stream_id) e
           LEFT JOIN readmodel.stream_checkpoints c USING (stream_id)
           WHERE c.version IS DISTINCT FROM e.v"""
    )
    return behind == 0


@pytest.fixture
async def sim(start_simulator) -> RunningSimulator:
    return await start_simulator(seed=11)


@pytest.fixture
async def filled(
    api,  # noqa: F811
    database_url: str,
    amqp_url: str,
    topology,
    sim: RunningSimulator,
    pool: asyncpg.Pool,
) -> AsyncIterator[Filled]:
    """A few profiles requested over HTTP and ingested, one analysis job run to completion."""
    # No ops ports: fixed ports would collide with other test runs and `make run` on this machine.
    ingest_settings = make_settings(
        IngestSettings, database_url, amqp_url, topology, ingest_concurrency=2, ops_port=None
    )
    ingest = build_ingest(ingest_settings, sim.provider())
    analysis = build_analysis(
        analysis_settings(database_url, amqp_url, topology, ops_port=None), sim.provider()
    )
    async with running(ingest, analysis):
        for username in PROFILES:
            resp = await api.post(f"/api/profile/{username}/request")
            assert resp.status < 300, await resp.text()
        created = await submit(api, SESSION, competitors=COMPETITORS[:2])
        for username in PROFILES:
            await wait_status(api, username, "completed", timeout_s=60)
        await wait_job(api, SESSION, "completed")
        await infra.eventually(lambda: projector_caught_up(pool), message="projector caught up")
    yield Filled(created["id"], SESSION, PROFILES)
