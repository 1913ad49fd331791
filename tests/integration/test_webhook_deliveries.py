"""The delivery loop's attempts against PostgreSQL and a receiver on loopback: the deliveries of one
claim run side by side, and those to one endpoint are recorded one after another on its stream."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

import asyncpg
import orjson
from aiohttp import web

from libs.events import EventStore, Topology
from libs.events.catalog import webhook_stream
from libs.webhooks import outbound
from services.alerts import repository
from services.alerts.deliveries import Deliveries
from services.alerts.settings import AlertsSettings
from tests.conftest import make_settings

DELIVERIES = 8


async def test_deliveries_to_one_endpoint_claimed_together_are_each_sent_and_recorded_once(
    pool: asyncpg.Pool, database_url: str, amqp_url: str, topology: Topology
) -> None:
    received: Counter[str] = Counter()

    async def hook(request: web.Request) -> web.Response:
        received[orjson.loads(await request.read())["id"]] += 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        alerts = [uuid.uuid4() for _ in range(DELIVERIES)]
        async with pool.acquire() as conn:
            await repository.upsert_endpoint(conn, "ep1", "alice", f"http://{host}:{port}/hook")
            for alert in alerts:
                body = orjson.dumps({"id": str(alert)})
                await repository.add_deliveries(conn, "alice", alert, body, datetime.now(UTC))
        settings = make_settings(
            AlertsSettings, database_url, amqp_url, topology, webhook_signing_key="test-key",
            webhook_allow_loopback=True, webhook_concurrency=DELIVERIES,
        )  # fmt: skip
        deliveries = Deliveries(EventStore(producer="alerts"), settings)
        async with outbound.session(allow_loopback=True, timeout_s=5) as http:
            assert await deliveries.run_once(pool, http) == DELIVERIES
    finally:
        await runner.cleanup()
    assert received == {str(alert): 1 for alert in alerts}
    rows = await pool.fetch("SELECT state, attempts FROM alerts.deliveries")
    assert [(r["state"], r["attempts"]) for r in rows] == [("delivered", 1)] * DELIVERIES
    versions = await pool.fetch(
        "SELECT stream_version FROM eventstore.events WHERE stream_id = $1 ORDER BY 1", webhook_stream("ep1")
    )
    assert [v["stream_version"] for v in versions] == list(range(1, DELIVERIES + 1))
