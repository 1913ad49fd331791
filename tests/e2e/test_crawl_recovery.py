"""A crawl survives its worker: a restarted replica takes back its own run at once, not after the lease."""

import signal
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from tests.e2e.test_crawler import ADMIN, crawl_events, run_status, sim, wait_finished  # noqa: F401
from tests.support import infra
from tests.support.processes import ServiceProcess
from tests.support.recovery import LONG_LEASE_S, RESUME_WITHIN_S


@pytest.mark.slow
async def test_a_restarted_crawler_takes_back_its_run_at_once(
    api: TestClient,
    sim,  # noqa: F811 (fixture)
    pool,
    service_env: dict[str, str],
    output_dir: Path,
) -> None:
    await sim.control("config", {"latency_ms": 60})
    env = {
        **service_env,
        "OPS_PORT": str(infra.free_port()),
        "WORKER_ID": "crawler-replica-0",
        "CRAWLER_LEASE_S": LONG_LEASE_S,
        "CRAWLER_POLL_INTERVAL_S": "0.2",
        **sim.provider_env(),
    }
    log = output_dir / "crawler.log"
    first = ServiceProcess("services.crawler", env, log).start()
    await first.wait_ready(f"http://127.0.0.1:{env['OPS_PORT']}/readyz")
    resp = await api.post(
        "/api/crawler/runs",
        json={"seed_usernames": ["money.kim", "chef_leo"], "target_profiles": 16, "per_seed_limit": 8},
        headers=ADMIN,
    )
    run_id = (await resp.json())["data"]["run_id"]

    async def queued_some() -> bool:
        return await pool.fetchval("SELECT queued >= 3 FROM crawler.runs WHERE run_id = $1::uuid", run_id)

    await infra.eventually(queued_some, timeout_s=30, message="the crawl under way")
    first.kill(signal.SIGKILL)
    await first.wait_exit()
    second = ServiceProcess("services.crawler", env, log).start()
    restarted_at = time.monotonic()
    try:

        async def resumed() -> bool:
            return len(await crawl_events(pool, run_id, "CrawlStarted")) == 2

        await infra.eventually(resumed, timeout_s=RESUME_WITHIN_S, message="run taken back")
        resumed_after_s = time.monotonic() - restarted_at
        done = await wait_finished(api, run_id, timeout_s=60)
    finally:
        second.kill(signal.SIGTERM)
        assert await second.wait_exit() == 0, second.logs()
    assert resumed_after_s < RESUME_WITHIN_S
    assert done["status"] == "completed" and done["queued"] == 16, done
    assert (await run_status(api, run_id))["status"] == "completed"
