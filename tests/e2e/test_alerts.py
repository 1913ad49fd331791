"""Watchlists, outlier alerts and webhooks (issue 15), end to end: the gateway, the projector,
profile-ingest against the simulator and the alerts service, with a real webhook receiver on loopback.

A watched creator is fetched again at MEDIUM priority on the alerts service's schedule; each reel at or
above the watcher's threshold becomes one alert (however often the creator is fetched again), in the
user's feed and delivered, signed, to each of their endpoints, once."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from infra.simulator.growth import find_outlier_crossing
from libs.events import Topology
from libs.runtime import ServiceRuntime
from libs.webhooks.signing import verify
from services.alerts.__main__ import build as build_alerts
from services.alerts.settings import AlertsSettings
from services.gateway.settings import GatewaySettings
from tests.conftest import make_settings
from tests.e2e.test_boards import call
from tests.e2e.test_ownership import ADMIN, ALICE, BOB
from tests.e2e.test_profile_ingest import sim, start_ingest  # noqa: F401  (fixtures)
from tests.support import infra
from tests.support.runtime import running
from tests.support.tokens import AUDIENCE, SECRET

SIGNING_KEY = "test-webhook-signing-key"
SEED = 7  # the simulator's (tests.e2e.test_profile_ingest's `sim`)
THRESHOLD = 3.0
DAY_S = 86_400


@dataclass(frozen=True)
class Grown:
    """A simulated world that grows from t0: `creator`'s reel `shortcode`, posted after t0, scores under
    the threshold a day after t0 and over it five days after."""

    creator: str
    shortcode: str
    t0: datetime

    def at(self, days: float) -> str:
        return (self.t0 + timedelta(days=days)).isoformat()


async def grow(simulator: Any) -> Grown:
    t0 = datetime.now(UTC).replace(microsecond=0)
    ts = int(t0.timestamp())
    found = find_outlier_crossing(
        SEED, [f"watched.creator{n}" for n in range(200)], ts, ts + DAY_S, ts + 5 * DAY_S
    )
    assert found is not None, "no reel of the simulated creators crosses the threshold"
    grown = Grown(found[0], found[1], t0)
    await simulator.control("config", {"growth_from": t0.isoformat(), "now": grown.at(1)})
    return grown


def watching(grown: Grown, threshold: float = THRESHOLD) -> dict[str, Any]:
    """A watch alerting on what the creator posts from t0 on."""
    return {"username": grown.creator, "min_outlier_score": threshold, "alert_from": grown.t0.isoformat()}


@dataclass
class Receiver:
    """A webhook endpoint on loopback: records every request; fails the first `failures` deliveries of
    each alert (by the body's id, so other alerts' deliveries in between do not use them up), and
    answers after `delay_s`."""

    url: str = ""
    failures: int = 0
    delay_s: float = 0.0
    requests: list[tuple[float, dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((time.monotonic(), dict(request.headers), body))
        await asyncio.sleep(self.delay_s)
        alert_id = orjson.loads(body)["id"]
        if sum(orjson.loads(b)["id"] == alert_id for _, _, b in self.requests) <= self.failures:
            return web.Response(status=500, text="not now")
        return web.Response(text="ok")


@asynccontextmanager
async def serving(received: Receiver) -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_post("/hook", received.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    received.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield received
    finally:
        await runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving(Receiver()) as received:
        yield received


@pytest.fixture
def gateway_settings(database_url: str, amqp_url: str, topology: Topology) -> GatewaySettings:
    return make_settings(
        GatewaySettings, database_url, amqp_url, topology, admin_token="test-admin-token",
        auth_jwt_secret=SECRET, auth_jwt_audience=AUDIENCE, webhook_signing_key=SIGNING_KEY,
        webhook_allow_loopback=True, max_watches_per_user=2, max_webhooks_per_user=2,
    )  # fmt: skip


@pytest.fixture
def start_alerts(database_url: str, amqp_url: str, topology: Topology) -> Callable[..., Any]:
    async def start(stack: AsyncExitStack, **changes: Any) -> ServiceRuntime:
        settings = make_settings(
            AlertsSettings, database_url, amqp_url, topology, webhook_signing_key=SIGNING_KEY,
            **{"webhook_allow_loopback": True, "alerts_refresh_interval_s": 1.0, "alerts_refresh_tick_s": 0.2,
               "webhook_retry_base_s": 0.2, "webhook_retry_cap_s": 2.0,
               "webhook_poll_s": 0.2, **changes},
        )  # fmt: skip
        runtime = build_alerts(settings)
        await stack.enter_async_context(running(runtime))
        return runtime

    return start


async def stored(pool: asyncpg.Pool, event_type: str, stream: str | None = None) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT event_id, stream_id, payload FROM eventstore.events
           WHERE event_type = $1 AND ($2::text IS NULL OR stream_id = $2) ORDER BY position""",
        event_type,
        stream,
    )


async def alertable(pool: asyncpg.Pool, grown: Grown) -> dict[str, str]:
    """What the creator's ingestions say crosses the threshold since t0: content_id -> shortcode."""
    found: dict[str, str] = {}
    for row in await stored(pool, "ProfileIngested", f"profile-{grown.creator}"):
        for r in row["payload"]["reels"]:
            if r["outlier_score"] >= THRESHOLD and datetime.fromisoformat(r["date_posted"]) >= grown.t0:
                found[r["content_id"]] = r["shortcode"]
    return found


async def ingestions(pool: asyncpg.Pool, grown: Grown) -> int:
    return len(await stored(pool, "ProfileIngested", f"profile-{grown.creator}"))


def body_of(body: bytes, grown: Grown) -> dict[str, Any]:
    parsed = orjson.loads(body)
    assert parsed["type"] == "outlier.detected" and parsed["data"]["username"] == grown.creator
    return parsed


async def test_a_reel_that_grows_past_the_threshold_is_alerted_and_delivered_once(
    api: TestClient,
    pool: asyncpg.Pool,
    sim: Any,  # noqa: F811 (a fixture)
    start_ingest,  # noqa: F811 (a fixture)
    start_alerts,
    receiver: Receiver,
) -> None:
    grown = await grow(sim)
    status, hook = await call(api, "POST", "/api/webhooks", ALICE, json={"url": receiver.url})
    assert status == 201 and hook["secret"].startswith("whsec_") and hook["status"] == "active"
    status, watched = await call(api, "POST", "/api/watchlist", ALICE, json=watching(grown))
    assert status == 201 and watched["status"] == "watching"
    async with AsyncExitStack() as stack:
        await start_ingest()
        await start_alerts(stack)
        await infra.eventually(lambda: _at_least(ingestions(pool, grown), 2), timeout_s=60,
                               message="the watched creator fetched, and again")  # fmt: skip
        first = set(await alertable(pool, grown))
        assert grown.shortcode not in (await alertable(pool, grown)).values(), "over the threshold already"
        await sim.control("config", {"now": grown.at(5)})  # four days on: the reel has grown

        async def crossed() -> dict[str, str] | None:
            found = await alertable(pool, grown)
            return found if grown.shortcode in found.values() else None

        await infra.eventually(crossed, timeout_s=60, message="the grown reel fetched")
        fetched = await ingestions(pool, grown)
        await infra.eventually(lambda: _at_least(ingestions(pool, grown), fetched + 2), timeout_s=60,
                               message="fetched twice more")  # fmt: skip
        expected = await alertable(pool, grown)

        async def all_delivered() -> bool:
            return len(receiver.requests) >= len(expected)

        await infra.eventually(all_delivered, timeout_s=30, message="every alert delivered")
        await asyncio.sleep(1.5)  # refreshes go on meanwhile: they must alert and deliver nothing more
    requests = await stored(pool, "ProfileRequested", f"profile-{grown.creator}")
    assert {(r["payload"]["priority"], r["payload"]["source"]) for r in requests} == {("MEDIUM", "watchlist")}
    alerts = await stored(pool, "OutlierDetected", "alerts-alice")
    assert sorted(a["payload"]["content_id"] for a in alerts) == sorted(expected), "once per reel"
    late = [a for a in alerts if a["payload"]["shortcode"] == grown.shortcode]
    assert len(late) == 1 and late[0]["payload"]["content_id"] not in first
    ids = sorted(body_of(body, grown)["id"] for _, _, body in receiver.requests)
    assert ids == sorted(str(a["event_id"]) for a in alerts), "each alert delivered exactly once"
    for _, headers, body in receiver.requests:
        assert verify(hook["secret"], headers["X-ViralSpot-Signature"], body, now=int(time.time()))
        assert headers["X-ViralSpot-Attempt"] == "1"

    async def feed_projected() -> dict | None:
        _, feed = await call(api, "GET", "/api/alerts", ALICE)
        return feed if len(feed["alerts"]) == len(expected) else None

    feed = await infra.eventually(feed_projected, message="the alert feed projected")
    assert all(a["outlier_score"] >= THRESHOLD and a["username"] == grown.creator for a in feed["alerts"])
    assert (await call(api, "GET", "/api/alerts", BOB))[1]["alerts"] == []

    async def deliveries_projected() -> list | None:
        _, listed = await call(api, "GET", f"/api/webhooks/{hook['id']}/deliveries", ALICE)
        done = [d for d in listed["deliveries"] if d["state"] == "delivered"]
        return done if len(done) == len(expected) else None

    done = await infra.eventually(deliveries_projected, message="the deliveries projected")
    assert {d["attempts"] for d in done} == {1} and {d["status_code"] for d in done} == {200}


async def _at_least(count: Any, n: int) -> bool:
    return await count >= n


async def watched_and_grown(
    api: TestClient, simulator: Any, receiver: Receiver
) -> tuple[Grown, dict[str, Any]]:
    """Alice's webhook, and her watch of a creator whose world has grown four days past t0 already."""
    grown = await grow(simulator)
    await simulator.control("config", {"now": grown.at(5)})
    _, hook = await call(api, "POST", "/api/webhooks", ALICE, json={"url": receiver.url})
    await call(api, "POST", "/api/watchlist", ALICE, json=watching(grown))
    return grown, hook


async def test_a_failing_receiver_is_retried_with_growing_delays_until_it_answers(
    api: TestClient,
    pool: asyncpg.Pool,
    sim: Any,  # noqa: F811 (a fixture)
    start_ingest,  # noqa: F811 (a fixture)
    start_alerts,
    receiver: Receiver,
) -> None:
    receiver.failures = 3
    grown, hook = await watched_and_grown(api, sim, receiver)
    async with AsyncExitStack() as stack:
        await start_ingest()
        await start_alerts(stack, alerts_refresh_interval_s=3600)

        async def four_attempts() -> bool:
            return len(receiver.requests) >= 4

        await infra.eventually(four_attempts, timeout_s=60, message="three failures, then a success")
        # The last attempt is recorded while the service runs (stopping it mid-attempt would leave the
        # delivery to a later attempt).
        alert_id = body_of(receiver.requests[0][2], grown)["id"]

        async def history() -> dict | None:
            _, listed = await call(api, "GET", f"/api/webhooks/{hook['id']}/deliveries", ALICE)
            mine = [d for d in listed["deliveries"] if d["alert_id"] == alert_id]
            return mine[0] if mine and mine[0]["state"] == "delivered" else None

        delivery = await infra.eventually(history, message="the delivery's attempts projected")
    first = [r for r in receiver.requests if body_of(r[2], grown)["id"] == alert_id][:4]
    assert [h["X-ViralSpot-Attempt"] for _, h, _ in first] == ["1", "2", "3", "4"]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(first)]
    # Equal jitter: the n-th retry waits at least half of base * 2^(n-1) (0.1, 0.2, 0.4 s here); the
    # loop's polling (0.2 s) rounds each up, so neighbouring gaps may tie, but the delays grow.
    floors = [0.2 * 2**n / 2 for n in range(3)]
    assert all(g >= f * 0.95 for g, f in zip(gaps, floors, strict=True)), f"a retry came early: {gaps}"
    assert gaps[2] > gaps[0], f"delays did not grow: {gaps}"
    for _, headers, body in first:
        assert verify(hook["secret"], headers["X-ViralSpot-Signature"], body, now=int(time.time()))

    assert [a["state"] for a in delivery["history"]] == ["retrying"] * 3 + ["delivered"]
    assert [a["status_code"] for a in delivery["history"]] == [500, 500, 500, 200]


async def test_private_addresses_are_refused_at_registration(api: TestClient) -> None:
    for url in ("http://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data", "https://192.168.1.10/x",
                "https://[::ffff:10.0.0.1]/x", "ftp://example.com/x", "https://user:pw@example.com/x"):  # fmt: skip
        status, code = await call(api, "POST", "/api/webhooks", ALICE, json={"url": url})
        assert (status, code) == (400, "INVALID_WEBHOOK_URL"), url
    assert (await call(api, "GET", "/api/webhooks", ALICE))[1]["webhooks"] == []


async def test_a_loopback_endpoint_is_refused_at_delivery_when_loopback_is_not_allowed(
    api: TestClient,
    pool: asyncpg.Pool,
    sim: Any,  # noqa: F811 (a fixture)
    start_ingest,  # noqa: F811 (a fixture)
    start_alerts,
    receiver: Receiver,
) -> None:
    """Registered while the gateway allowed loopback; the alerts service does not: nothing is sent."""
    _, hook = await watched_and_grown(api, sim, receiver)
    async with AsyncExitStack() as stack:
        await start_ingest()
        await start_alerts(stack, webhook_allow_loopback=False, alerts_refresh_interval_s=3600)

        async def refused() -> list | None:
            _, listed = await call(api, "GET", f"/api/webhooks/{hook['id']}/deliveries", ALICE)
            return listed["deliveries"] or None

        deliveries = await infra.eventually(refused, timeout_s=60, message="a delivery attempted")
    assert receiver.requests == []
    assert deliveries[0]["status_code"] is None and "loopback" in deliveries[0]["error"]


async def test_watchlists_and_webhooks_are_their_owners_alone_and_limited(
    api: TestClient, receiver: Receiver
) -> None:
    _, hook = await call(api, "POST", "/api/webhooks", ALICE, json={"url": receiver.url})
    await call(api, "POST", "/api/watchlist", ALICE, json={"username": "fitwithmaya"})
    paths = [
        ("GET", "/api/watchlist", {}), ("POST", "/api/watchlist", {"json": {"username": "someone"}}),
        ("DELETE", "/api/watchlist/fitwithmaya", {}), ("GET", "/api/alerts", {}), ("GET", "/api/webhooks", {}),
        ("POST", "/api/webhooks", {"json": {"url": receiver.url}}), ("DELETE", f"/api/webhooks/{hook['id']}", {}),
        ("GET", f"/api/webhooks/{hook['id']}/deliveries", {}),
    ]  # fmt: skip
    for method, path, kw in paths:
        assert await call(api, method, path, {}, **kw) == (401, "UNAUTHORIZED"), (method, path)
        assert await call(api, method, path, ADMIN, **kw) == (401, "UNAUTHORIZED"), (method, path)
    # Bob sees none of Alice's, and cannot touch them.
    assert (await call(api, "GET", "/api/watchlist", BOB))[1]["watching"] == []
    assert (await call(api, "GET", "/api/webhooks", BOB))[1]["webhooks"] == []
    assert await call(api, "DELETE", "/api/watchlist/fitwithmaya", BOB) == (404, "WATCH_NOT_FOUND")
    for method, path in (("DELETE", f"/api/webhooks/{hook['id']}"), ("GET", f"/api/webhooks/{hook['id']}/deliveries"),
                         ("POST", f"/api/webhooks/{hook['id']}/deliveries/{hook['id']}/resend")):  # fmt: skip
        assert await call(api, method, path, BOB) == (404, "WEBHOOK_NOT_FOUND"), (method, path)
    # Alice's own: listed, limited, changed, removed.
    _, listed = await call(api, "GET", "/api/watchlist", ALICE)
    assert [(w["username"], w["min_outlier_score"]) for w in listed["watching"]] == [("fitwithmaya", 3.0)]
    assert listed["limits"] == {"watches": 2} and "secret" not in str(
        await call(api, "GET", "/api/webhooks", ALICE)
    )
    assert (await call(api, "POST", "/api/watchlist", ALICE, json={"username": "fitwithmaya"}))[1][
        "status"
    ] == "unchanged"
    assert (await call(api, "POST", "/api/watchlist", ALICE, json={"username": "other.one"}))[0] == 201
    assert await call(api, "POST", "/api/watchlist", ALICE, json={"username": "third.one"}) == (
        409, "WATCHLIST_LIMIT_REACHED",
    )  # fmt: skip
    updated = await call(
        api, "POST", "/api/watchlist", ALICE, json={"username": "fitwithmaya", "min_outlier_score": 5}
    )
    assert updated[0] == 200 and updated[1]["status"] == "updated"
    assert (await call(api, "POST", "/api/watchlist", ALICE, json={"username": "bad name!"}))[0] == 422
    assert (
        await call(api, "POST", "/api/watchlist", ALICE, json={"username": "x", "min_outlier_score": 0.5})
    )[0] == 422
    assert (await call(api, "DELETE", "/api/watchlist/fitwithmaya", ALICE))[1]["status"] == "stopped"
    assert (await call(api, "POST", "/api/webhooks", ALICE, json={"url": receiver.url}))[0] == 201
    assert await call(api, "POST", "/api/webhooks", ALICE, json={"url": receiver.url}) == (
        409, "WEBHOOK_LIMIT_REACHED",
    )  # fmt: skip
    assert (await call(api, "DELETE", f"/api/webhooks/{hook['id']}", ALICE))[1]["status"] == "removed"
    assert len((await call(api, "GET", "/api/webhooks", ALICE))[1]["webhooks"]) == 1
