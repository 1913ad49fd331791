"""An analysis survives its worker and its database: a restarted replica takes back its own run at once
(not after the lease), and a database outage mid-run restarts the run instead of failing it."""

import signal
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY

from services.viral_analysis.__main__ import build as build_analysis
from tests.e2e.test_viral_analysis import (  # noqa: F401
    COMPETITORS,
    analysis_settings,
    events_of,
    job,
    sim,
    submit,
    wait_job,
)
from tests.support import infra
from tests.support.processes import ServiceProcess
from tests.support.recovery import LONG_LEASE_S, RESUME_WITHIN_S
from tests.support.runtime import running
from tests.support.tcp_proxy import TcpProxy


@pytest.mark.slow
async def test_a_restarted_analysis_worker_takes_back_its_run_at_once(
    api: TestClient,
    sim,  # noqa: F811 (fixture)
    pool,
    service_env: dict[str, str],
    output_dir: Path,
) -> None:
    await sim.control("config", {"latency_ms": 150})
    created = await submit(api, "session-take-back", competitors=COMPETITORS[:3])
    env = {
        **service_env,
        "OPS_PORT": str(infra.free_port()),
        "WORKER_ID": "analysis-replica-0",
        "ANALYSIS_LEASE_S": LONG_LEASE_S,
        "ANALYSIS_POLL_INTERVAL_S": "0.2",
        **sim.provider_env(),
    }
    log = output_dir / "analysis.log"
    first = ServiceProcess("services.viral_analysis", env, log).start()

    async def mid_run() -> bool:
        return (await job(api, "session-take-back")).get("progress_percentage", 0) >= 25

    await infra.eventually(mid_run, timeout_s=60, message="run under way")
    first.kill(signal.SIGKILL)
    await first.wait_exit()
    second = ServiceProcess("services.viral_analysis", env, log).start()
    restarted_at = time.monotonic()
    try:

        async def started_again() -> bool:
            return len(await events_of(pool, created["id"], "AnalysisStarted")) == 2

        await infra.eventually(started_again, timeout_s=RESUME_WITHIN_S, message="run taken back")
        resumed_after_s = time.monotonic() - restarted_at
        await wait_job(api, "session-take-back", "completed", timeout_s=90)
    finally:
        second.kill(signal.SIGTERM)
        await second.wait_exit()
    assert resumed_after_s < RESUME_WITHIN_S
    starts = await events_of(pool, created["id"], "AnalysisStarted")
    assert [s["run"] for s in starts] == [1, 1] and starts[0]["worker"] != starts[1]["worker"]
    assert all(s["worker"].startswith("analysis-replica-0#") for s in starts)
    assert len(await events_of(pool, created["id"], "AnalysisCompleted")) == 1


async def test_a_database_outage_mid_run_restarts_the_run_and_it_completes(
    api: TestClient,
    sim,  # noqa: F811 (fixture)
    pool,
    database_url: str,
    amqp_url: str,
    topology,
) -> None:
    await sim.control("config", {"latency_ms": 100})
    url = urlsplit(database_url)
    proxy = await TcpProxy(url.hostname or "127.0.0.1", url.port or 5432).start()
    proxied = urlunsplit(url._replace(netloc=f"{url.username}@127.0.0.1:{proxy.port}"))
    runtime = build_analysis(analysis_settings(proxied, amqp_url, topology), sim.provider())
    try:
        async with running(runtime):
            created = await submit(api, "session-outage", competitors=COMPETITORS[:3])

            async def mid_run() -> bool:
                return (await job(api, "session-outage")).get("progress_percentage", 0) >= 10

            await infra.eventually(mid_run, timeout_s=60, message="run under way")
            await proxy.cut()  # connections reset, new ones refused: what a PostgreSQL restart looks like
            await infra.eventually(lambda: _async(interrupted() >= 1), message="the run saw the outage")
            await proxy.restore()
            done = await wait_job(api, "session-outage", "completed", "failed", timeout_s=90)
    finally:
        await proxy.close()
    assert done["status"] == "completed", done["error_message"]
    assert await events_of(pool, created["id"], "AnalysisFailed") == []
    assert len(await events_of(pool, created["id"], "AnalysisCompleted")) == 1
    assert {s["run"] for s in await events_of(pool, created["id"], "AnalysisStarted")} == {1}


def interrupted() -> float:
    return REGISTRY.get_sample_value("viralspot_analysis_runs_total", {"outcome": "interrupted"}) or 0


async def _async(value: bool) -> bool:
    return value
