"""Exactly one alert per reel and watcher, and one delivery per alert and webhook, however the alerts
service is stopped: killed (SIGKILL) mid-delivery and restarted, and the broker restarted under it
while it delivers. A receiver may see an attempt that was in flight at the kill, and then its retry
(the same alert id, a later attempt number: receivers deduplicate on the id); it never sees one
attempt twice."""

from __future__ import annotations

import signal
from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from aiohttp.test_utils import TestClient

from libs.events import Topology
from services.gateway.settings import GatewaySettings
from tests.conftest import make_settings
from tests.e2e.test_alerts import SIGNING_KEY, Receiver, serving, stored
from tests.e2e.test_boards import call
from tests.e2e.test_ownership import ALICE
from tests.e2e.test_profile_ingest import sim, start_ingest  # noqa: F401  (fixtures)
from tests.support import infra
from tests.support.processes import ServiceProcess
from tests.support.tokens import AUDIENCE, SECRET

pytestmark = pytest.mark.slow

CREATORS = [f"recovery.creator{n}" for n in range(8)]
THRESHOLD = 1.0  # about half of every creator's reels: enough alerts to stop the service among them


@pytest.fixture
def gateway_settings(database_url: str, amqp_url: str, topology: Topology) -> GatewaySettings:
    return make_settings(
        GatewaySettings, database_url, amqp_url, topology, admin_token="test-admin-token",
        auth_jwt_secret=SECRET, auth_jwt_audience=AUDIENCE, webhook_signing_key=SIGNING_KEY,
        webhook_allow_loopback=True,
    )  # fmt: skip


def alerts_process(service_env: dict[str, str], log: Path) -> ServiceProcess:
    env = {
        **service_env, "OPS_PORT": str(infra.free_port()), "WEBHOOK_SIGNING_KEY": SIGNING_KEY,
        "WEBHOOK_ALLOW_LOOPBACK": "true", "WEBHOOK_CONCURRENCY": "2", "WEBHOOK_POLL_S": "0.2",
        "WEBHOOK_TIMEOUT_S": "1", "WEBHOOK_RETRY_BASE_S": "0.2", "WEBHOOK_RETRY_CAP_S": "1",
        # Fetched again every few seconds: the same reels come back, and must alert nothing more.
        "ALERTS_REFRESH_INTERVAL_S": "3", "ALERTS_REFRESH_TICK_S": "0.5",
    }  # fmt: skip
    return ServiceProcess("services.alerts", env, log).start()


async def expected_alerts(pool: asyncpg.Pool, alert_from: datetime) -> set[str] | None:
    """The content_ids the ingestions so far say cross the threshold; None until every creator is in."""
    found: set[str] = set()
    creators: set[str] = set()
    for row in await stored(pool, "ProfileIngested"):
        creators.add(row["payload"]["username"])
        for r in row["payload"]["reels"]:
            posted = r["date_posted"] and datetime.fromisoformat(r["date_posted"])
            if r["outlier_score"] >= THRESHOLD and posted and posted >= alert_from:
                found.add(r["content_id"])
    return found if creators >= set(CREATORS) else None


def received(receiver: Receiver) -> Counter[str]:
    return Counter(orjson.loads(body)["id"] for _, _, body in receiver.requests)


async def test_one_alert_and_one_delivery_each_through_a_kill_and_a_broker_restart(
    api: TestClient,
    pool: asyncpg.Pool,
    sim: Any,  # noqa: F811 (a fixture)
    start_ingest,  # noqa: F811 (a fixture)
    service_env: dict[str, str],
    output_dir: Path,
) -> None:
    now = datetime.now(UTC)
    await sim.control("config", {"now": now.isoformat()})  # the fixture's world is dated in the past
    alert_from = now - timedelta(days=29)
    async with AsyncExitStack() as stack:
        hooks = {}
        for _ in ("a", "b"):
            receiver = await stack.enter_async_context(serving(Receiver(delay_s=0.05)))
            _, hook = await call(api, "POST", "/api/webhooks", ALICE, json={"url": receiver.url})
            hooks[hook["id"]] = receiver
        for creator in CREATORS:
            watch = {
                "username": creator,
                "min_outlier_score": THRESHOLD,
                "alert_from": alert_from.isoformat(),
            }
            assert (await call(api, "POST", "/api/watchlist", ALICE, json=watch))[0] == 201
        await start_ingest()
        log = output_dir / "alerts.log"
        proc = alerts_process(service_env, log)
        try:
            expected = await infra.eventually(
                lambda: expected_alerts(pool, alert_from), timeout_s=60, message="every creator fetched"
            )
            assert len(expected) >= 20, "too few alerts to stop the service among them"
            owed = 2 * len(expected)

            async def delivered_at_least(n: int) -> bool:
                return sum(len(r.requests) for r in hooks.values()) >= n

            await infra.eventually(
                lambda: delivered_at_least(owed // 4), timeout_s=60, interval_s=0.01, message="a quarter sent"
            )
            proc.kill(signal.SIGKILL)
            await proc.wait_exit()
            assert sum(len(r.requests) for r in hooks.values()) < owed, "all sent before the kill"
            proc = alerts_process(service_env, log)
            await infra.eventually(
                lambda: delivered_at_least(owed // 2), timeout_s=60, interval_s=0.01, message="half sent"
            )
            await infra.restart_broker(down_s=1.0)

            async def all_delivered() -> bool:
                states = await pool.fetch("SELECT state, count(*) AS n FROM alerts.deliveries GROUP BY state")
                ids = {str(a["event_id"]) for a in await stored(pool, "OutlierDetected", "alerts-alice")}
                done = {r["state"]: r["n"] for r in states} == {"delivered": owed}
                return done and all(set(received(r)) == ids for r in hooks.values())

            await infra.eventually(all_delivered, timeout_s=120, message="every delivery made")
            fetched = len(await stored(pool, "ProfileIngested"))
            await infra.eventually(
                lambda: _ingested_at_least(pool, fetched + len(CREATORS)), timeout_s=60,
                message="every creator fetched again after the restarts",
            )  # fmt: skip
        finally:
            proc.kill(signal.SIGTERM)
            assert await proc.wait_exit() == 0, proc.logs()

    alerts = await stored(pool, "OutlierDetected", "alerts-alice")
    assert Counter(a["payload"]["content_id"] for a in alerts) == Counter(expected), "one alert per reel"
    rows = await pool.fetch("SELECT endpoint_id, alert_event_id, attempts, state FROM alerts.deliveries")
    assert Counter((r["endpoint_id"], r["alert_event_id"]) for r in rows) == Counter(
        (hook_id, a["event_id"]) for hook_id in hooks for a in alerts
    ), "one delivery per alert and webhook"
    for r in rows:
        requests = [
            h
            for _, h, body in hooks[r["endpoint_id"]].requests
            if orjson.loads(body)["id"] == str(r["alert_event_id"])
        ]
        attempts = [h["X-ViralSpot-Attempt"] for h in requests]
        assert len(set(attempts)) == len(attempts) <= r["attempts"], "an attempt sent twice"
        assert str(r["attempts"]) in attempts, "the attempt recorded delivered was not the one received"


async def _ingested_at_least(pool: asyncpg.Pool, n: int) -> bool:
    return len(await stored(pool, "ProfileIngested")) >= n
