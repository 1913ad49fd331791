"""A watch's two thresholds (the creator's baseline and the niche's), and the refresh a user asks for
(POST /api/watchlist/refresh). Ingestions are appended here as profile-ingest writes them (an
ingestion, then the creator's and the reels' categories), so each reel's scores are chosen exactly."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from libs.events import Topology
from services.gateway.settings import GatewaySettings, RateLimit
from tests.conftest import make_settings
from tests.e2e.test_alerts import SIGNING_KEY, start_alerts, stored  # noqa: F401  (a fixture)
from tests.e2e.test_boards import call
from tests.e2e.test_ownership import ALICE, BOB
from tests.support import infra
from tests.support.projector import append, categories, creator_categorised, ingested, reel, reels_categorised
from tests.support.tokens import AUDIENCE, SECRET

MAKER = "niche.maker"
NOW = datetime.now(UTC).replace(microsecond=0)
POSTED = NOW - timedelta(hours=2)
MONTH = date(POSTED.year, POSTED.month, 1)


@pytest.fixture
def gateway_settings(database_url: str, amqp_url: str, topology: Topology) -> GatewaySettings:
    return make_settings(
        GatewaySettings, database_url, amqp_url, topology, admin_token="test-admin-token",
        auth_jwt_secret=SECRET, auth_jwt_audience=AUDIENCE, webhook_signing_key=SIGNING_KEY,
        rate_limit_watch_refreshes=RateLimit(2, 3600),
    )  # fmt: skip


async def ingest(pool: asyncpg.Pool, username: str, reels: list[Any], filed: dict[str, str]) -> None:
    """One ingestion of `username`, its reels filed as `filed` says (content_id -> category)."""
    async with pool.acquire() as conn, conn.transaction():
        await append(
            conn, username, ingested(username, reels), creator_categorised(username, "fitness"),
            reels_categorised(username, *(categories(c, category) for c, category in filed.items())),
        )  # fmt: skip


async def alerted(pool: asyncpg.Pool, user: str, n: int) -> list[dict[str, Any]] | None:
    found = [r["payload"] for r in await stored(pool, "OutlierDetected", f"alerts-{user}")]
    return found if len(found) >= n else None


async def test_a_niche_threshold_alerts_only_reels_past_both_baselines(
    api: TestClient,
    pool: asyncpg.Pool,
    start_alerts: Any,  # noqa: F811 (a fixture)
) -> None:
    watch = {"username": MAKER, "min_outlier_score": 2, "alert_from": (NOW - timedelta(days=1)).isoformat()}
    status, alice = await call(api, "POST", "/api/watchlist", ALICE, json={**watch, "min_niche_score": 3})
    assert status == 201 and alice["min_niche_score"] == 3
    assert (await call(api, "POST", "/api/watchlist", BOB, json=watch))[1]["min_niche_score"] is None
    async with AsyncExitStack() as stack:
        await start_alerts(stack, alerts_refresh_interval_s=3600)
        await infra.eventually(lambda: _watches(pool, 2), message="both watches kept by the alerts service")
        # The niche: ten fitness reels this month at 10,000 views (the maker's own leave its median).
        peers = {f"peer{i}": "fitness" for i in range(10)}
        await ingest(pool, "niche.peer", [reel(c, 10_000, POSTED) for c in peers], peers)
        await infra.eventually(lambda: _baseline(pool, 10_000.0), message="the niche baseline projected")

        # a: 4x the creator, 4x the niche. b: 5x the creator, 2x the niche. c: 5x the creator, not filed.
        maker = [
            reel("a", 40_000, POSTED, outlier_score=4.0),
            reel("b", 20_000, POSTED, outlier_score=5.0),
            reel("c", 50_000, POSTED, outlier_score=5.0),
        ]
        await ingest(pool, MAKER, maker, {"a": "fitness", "b": "fitness"})
        bobs = await infra.eventually(lambda: alerted(pool, "bob", 3), message="bob's three alerts")
        # Alice's were decided in the same transaction as Bob's.
        alices = [r["payload"] for r in await stored(pool, "OutlierDetected", "alerts-alice")]
        assert sorted(a["content_id"] for a in bobs) == ["a", "b", "c"]
        assert {a["min_niche_score"] for a in bobs} == {None} and {
            a["niche_outlier_score"] for a in bobs
        } == {None}
        assert [
            (a["content_id"], a["niche_outlier_score"], a["category"], a["min_niche_score"]) for a in alices
        ] == [("a", pytest.approx(4.0, rel=0.01), "fitness", 3.0)]

        # b grows to 4x its niche: now Alice's too, once; Bob's alert for it stands alone.
        grown = [maker[0], reel("b", 40_000, POSTED, outlier_score=8.0), maker[2]]
        await ingest(pool, MAKER, grown, {"a": "fitness", "b": "fitness"})
        alices = await infra.eventually(lambda: alerted(pool, "alice", 2), message="b alerted to alice")
        await ingest(pool, MAKER, grown, {"a": "fitness", "b": "fitness"})  # fetched again: nothing new
        await infra.eventually(lambda: _handled(pool, MAKER, 3), message="the third ingestion handled")
    assert sorted(a["content_id"] for a in alices) == ["a", "b"]
    assert len(await stored(pool, "OutlierDetected", "alerts-alice")) == 2
    assert len(await stored(pool, "OutlierDetected", "alerts-bob")) == 3

    async def feed() -> list[dict[str, Any]] | None:
        _, page = await call(api, "GET", "/api/alerts", ALICE)
        return page["alerts"] if len(page["alerts"]) == 2 else None

    shown = await infra.eventually(feed, message="alice's feed projected")
    assert {(a["content_id"], a["category"], a["min_niche_score"]) for a in shown} == {
        ("a", "fitness", 3.0), ("b", "fitness", 3.0)
    }  # fmt: skip
    assert all(a["niche_outlier_score"] >= 3.0 for a in shown)


async def _watches(pool: asyncpg.Pool, n: int) -> bool:
    return await pool.fetchval("SELECT count(*) FROM alerts.watches") >= n


async def _baseline(pool: asyncpg.Pool, median: float) -> bool:
    held = await pool.fetchval(
        "SELECT median_views FROM readmodel.niche_baselines WHERE category = 'fitness' AND month = $1", MONTH
    )
    return held == median


async def _handled(pool: asyncpg.Pool, username: str, n: int) -> bool:
    """The alerts consumer has taken the creator's n-th ingestion (its inbox records each event)."""
    return (
        await pool.fetchval(
            """SELECT count(*) FROM eventstore.inbox i JOIN eventstore.events e USING (event_id)
               WHERE i.consumer = 'alerts' AND e.event_type = 'ProfileIngested' AND e.stream_id = $1""",
            f"profile-{username}",
        )
        >= n
    )


async def test_a_user_refreshes_their_watchlist_now_within_a_limit(
    api: TestClient, pool: asyncpg.Pool
) -> None:
    for username in ("first.one", "second.one"):
        assert (await call(api, "POST", "/api/watchlist", ALICE, json={"username": username}))[0] == 201
    assert await call(api, "POST", "/api/watchlist/refresh", {}) == (401, "UNAUTHORIZED")
    assert await call(api, "POST", "/api/watchlist/refresh", BOB) == (202, {"requested": [], "skipped": []})

    status, first = await call(api, "POST", "/api/watchlist/refresh", ALICE)
    assert (status, first) == (202, {"requested": ["first.one", "second.one"], "skipped": []})
    requests = [r["payload"] for r in await stored(pool, "ProfileRequested")]
    assert sorted((r["username"], r["priority"], r["source"]) for r in requests) == [
        ("first.one", "MEDIUM", "watchlist"), ("second.one", "MEDIUM", "watchlist")
    ]  # fmt: skip
    # Both still queued: asking again requests nothing twice.
    assert await call(api, "POST", "/api/watchlist/refresh", ALICE) == (
        202, {"requested": [], "skipped": ["first.one", "second.one"]},
    )  # fmt: skip
    async with api.post("/api/watchlist/refresh", headers=ALICE) as resp:
        assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
        assert (await resp.json())["error_code"] == "RATE_LIMITED"
    assert len(await stored(pool, "ProfileRequested")) == 2
