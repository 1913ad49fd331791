"""The competitor picker end to end: the gateway appends the request, profile-ingest asks the simulator
over real HTTP, the projector writes the read model, and the gateway answers once it is projected.
Provider calls are counted by the simulator itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings, RateLimit
from services.profile_ingest.__main__ import build as build_ingest
from services.profile_ingest.settings import IngestSettings
from tests.conftest import make_settings
from tests.provider.provider_harness import RunningSimulator
from tests.support import infra
from tests.support.runtime import running

CARD_FIELDS = {"username", "full_name", "profile_image_url", "followers", "is_private"}
SUGGESTION_FIELDS = {"username", "full_name", "profile_image_url", "followers", "primary_category", "rank"}


@pytest.fixture
async def sim(start_simulator) -> RunningSimulator:
    return await start_simulator(seed=16)


@pytest.fixture
async def ingest(database_url, amqp_url, topology, sim: RunningSimulator) -> AsyncIterator[ServiceRuntime]:
    settings = make_settings(IngestSettings, database_url, amqp_url, topology)
    runtime = build_ingest(settings, sim.provider())
    async with running(runtime):
        yield runtime


@pytest.fixture
def picker_api(
    gateway_runtime: ServiceRuntime, gateway_settings: GatewaySettings, aiohttp_client, ingest
) -> Callable[..., Awaitable[TestClient]]:
    """The gateway with its picker settings changed (its other settings as the e2e fixtures make them)."""

    async def start(**changes: object) -> TestClient:
        settings = gateway_settings.model_copy(update=changes)
        return await aiohttp_client(create_app(gateway_runtime, settings))

    return start


async def similar_calls(sim: RunningSimulator, username: str) -> int:
    """How often the simulator was asked about this username (here: for its similar accounts alone)."""
    return await sim.requests_about(username)


async def requests_in_store(pool: asyncpg.Pool, username: str) -> list[dict]:
    rows = await pool.fetch(
        """SELECT payload FROM eventstore.events
           WHERE stream_id = $1 AND event_type = 'SimilarAccountsRequested' ORDER BY stream_version""",
        f"similar-{username}",
    )
    return [r["payload"] for r in rows]


async def test_similar_fast_fetches_a_never_seen_username_on_demand_at_high_priority_then_serves_it_cached(
    picker_api, sim: RunningSimulator, pool: asyncpg.Pool
) -> None:
    api = await picker_api()
    resp = await api.get("/api/profile/@Never.Seen.Coach/similar-fast?limit=100")
    assert resp.status == 200, await resp.text()
    data = (await resp.json())["data"]
    assert data["username"] == "never.seen.coach" and data["cached"] is False
    profiles = data["similar_profiles"]
    assert profiles and all(set(p) == SUGGESTION_FIELDS for p in profiles)
    assert [p["rank"] for p in profiles] == list(range(1, len(profiles) + 1))
    assert await similar_calls(sim, "never.seen.coach") == 1
    requested = await requests_in_store(pool, "never.seen.coach")
    assert [r["priority"] for r in requested] == ["HIGH"]

    # The provider's own list, in its order, without the accounts it says are private (they cannot be
    # analysed; one whose privacy it does not say stays).
    provider = sim.provider()
    try:
        accounts = await provider.get_similar_accounts("never.seen.coach")
    finally:
        await provider.close()
    expected = [a.username for a in accounts if a.is_private is not True]
    assert len(expected) < len(accounts)  # for this name the simulator flags at least one private
    assert [p["username"] for p in profiles] == expected[:100]
    by_name = {a.username: a for a in accounts}
    assert all(p["full_name"] == by_name[p["username"]].full_name for p in profiles)
    asked = await similar_calls(sim, "never.seen.coach")

    again = await api.get("/api/profile/never.seen.coach/similar-fast?limit=5")
    assert again.status == 200
    cached = (await again.json())["data"]
    assert cached["cached"] is True and cached["fetched_at"] == data["fetched_at"]
    assert [p["username"] for p in cached["similar_profiles"]] == expected[:5]
    assert await similar_calls(sim, "never.seen.coach") == asked  # no provider call within 24 h
    assert len(await requests_in_store(pool, "never.seen.coach")) == 1

    refreshed = await api.get("/api/profile/never.seen.coach/similar-fast?force_refresh=true")
    assert refreshed.status == 200
    fresh = (await refreshed.json())["data"]
    assert fresh["cached"] is False and fresh["fetched_at"] > data["fetched_at"]
    assert await similar_calls(sim, "never.seen.coach") == asked + 1
    assert [r["priority"] for r in await requests_in_store(pool, "never.seen.coach")] == ["HIGH", "HIGH"]


async def test_concurrent_calls_for_one_unknown_username_make_one_fetch(
    picker_api, sim: RunningSimulator, pool: asyncpg.Pool
) -> None:
    api = await picker_api()
    # Slow enough that every call arrives while the one fetch is under way.
    await sim.control("fail", {"username": "crowded.coach", "times": 1, "status": 200, "delay_ms": 500})
    answers = await asyncio.gather(*(api.get("/api/profile/crowded.coach/similar-fast") for _ in range(8)))
    bodies = [await r.json() for r in answers]
    assert [r.status for r in answers] == [200] * 8, bodies
    lists = {tuple(p["username"] for p in b["data"]["similar_profiles"]) for b in bodies}
    assert len(lists) == 1 and next(iter(lists))
    assert await similar_calls(sim, "crowded.coach") == 1
    assert len(await requests_in_store(pool, "crowded.coach")) == 1


async def test_a_fetch_slower_than_the_wait_answers_202_and_then_the_same_fetch(
    picker_api, sim: RunningSimulator, pool: asyncpg.Pool
) -> None:
    api = await picker_api(picker_wait_s=0.3)
    await sim.control("fail", {"username": "slow.coach", "times": 1, "status": 200, "delay_ms": 1500})
    resp = await api.get("/api/profile/slow.coach/similar-fast")
    assert resp.status == 202, await resp.text()
    assert resp.headers["Retry-After"] == "2"
    pending = (await resp.json())["data"]
    assert pending["status"] == "pending" and pending["request_id"]
    second = await api.get("/api/profile/slow.coach/similar-fast")
    assert second.status in (200, 202)
    assert len(await requests_in_store(pool, "slow.coach")) == 1  # asking again starts no fetch

    async def answered() -> dict | None:
        got = await api.get("/api/profile/slow.coach/similar-fast")
        return (await got.json())["data"] if got.status == 200 else None

    data = await infra.eventually(answered, timeout_s=20, message="slow.coach answered")
    assert data["similar_profiles"]
    assert await similar_calls(sim, "slow.coach") == 1


async def test_similar_fast_refuses_unknown_and_private_accounts_and_bad_input(
    picker_api, sim: RunningSimulator
) -> None:
    api = await picker_api()
    missing = await api.get("/api/profile/missing_ghost/similar-fast")
    assert missing.status == 404 and (await missing.json())["error_code"] == "ACCOUNT_NOT_FOUND"
    private = await api.get("/api/profile/private_diary/similar-fast")
    assert private.status == 422 and (await private.json())["error_code"] == "ACCOUNT_PRIVATE"
    asked = await similar_calls(sim, "missing_ghost")
    again = await api.get("/api/profile/missing_ghost/similar-fast")
    assert again.status == 404
    assert await similar_calls(sim, "missing_ghost") == asked  # a gone account is remembered
    for bad in ("/api/profile/bad*name/similar-fast", "/api/profile/" + "a" * 31 + "/similar-fast"):
        resp = await api.get(bad)
        assert resp.status == 400 and (await resp.json())["error_code"] == "INVALID_USERNAME"
    for query in ("limit=0", "limit=101", "force_refresh=yes"):
        resp = await api.get(f"/api/profile/fine.name/similar-fast?{query}")
        assert resp.status == 400, query


async def test_add_competitor_answers_the_card_of_a_public_account(picker_api, sim: RunningSimulator) -> None:
    api = await picker_api()
    resp = await api.post("/api/profile/fitwithmaya/add-competitor/@Fit.Coach.Amy")
    assert resp.status == 200, await resp.text()
    card = (await resp.json())["data"]
    assert set(card) == CARD_FIELDS
    provider = sim.provider()
    try:
        profile = await provider.get_profile("fit.coach.amy")
    finally:
        await provider.close()
    assert card["username"] == "fit.coach.amy" and card["is_private"] is False
    assert card["full_name"] == profile.full_name and card["followers"] == profile.followers
    assert card["profile_image_url"]
    asked = (await sim.stats())["by_username"]["fit.coach.amy"]["total"]
    again = await api.post("/api/profile/someone.else/add-competitor/fit.coach.amy")
    assert again.status == 200 and (await again.json())["data"] == card
    assert (await sim.stats())["by_username"]["fit.coach.amy"]["total"] == asked  # a fresh profile is reused


async def test_add_competitor_refuses_missing_private_and_invalid_accounts(picker_api) -> None:
    api = await picker_api()
    missing = await api.post("/api/profile/fitwithmaya/add-competitor/missing_rival")
    assert missing.status == 404, await missing.text()
    assert (await missing.json())["error_code"] == "ACCOUNT_NOT_FOUND"
    private = await api.post("/api/profile/fitwithmaya/add-competitor/private_rival")
    assert private.status == 422, await private.text()
    body = await private.json()
    assert body["error_code"] == "ACCOUNT_PRIVATE" and "private" in body["detail"]
    own = await api.post("/api/profile/fitwithmaya/add-competitor/FitWithMaya")
    assert own.status == 422 and (await own.json())["error_code"] == "COMPETITOR_IS_PRIMARY"
    for path in ("fitwithmaya/add-competitor/bad*name", "bad*name/add-competitor/fit.coach.amy"):
        resp = await api.post(f"/api/profile/{path}")
        assert resp.status == 400 and (await resp.json())["error_code"] == "INVALID_USERNAME"


async def test_a_suggestion_shows_the_category_of_a_profile_once_it_is_known(picker_api) -> None:
    api = await picker_api()
    resp = await api.get("/api/profile/category.seed/similar-fast")
    first = (await resp.json())["data"]["similar_profiles"][0]
    assert first["primary_category"] is None  # never ingested: not known yet
    checked = await api.post(f"/api/profile/category.seed/add-competitor/{first['username']}")
    assert checked.status == 200, await checked.text()

    async def categorised() -> str | None:
        again = await api.get("/api/profile/category.seed/similar-fast")
        return (await again.json())["data"]["similar_profiles"][0]["primary_category"]

    assert await infra.eventually(categorised, timeout_s=20, message="the first suggestion categorised")


async def test_only_a_call_that_starts_a_fetch_takes_a_profile_request_token(picker_api) -> None:
    api = await picker_api(rate_limit_profiles=RateLimit(1, 3600))
    first = await api.get("/api/profile/budget.one/similar-fast")
    assert first.status == 200, await first.text()
    cached = await api.get("/api/profile/budget.one/similar-fast")
    assert cached.status == 200  # served from the read model: no token taken
    refused = await api.get("/api/profile/budget.two/similar-fast")
    assert refused.status == 429 and (await refused.json())["error_code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) >= 1
    typed = await api.post("/api/profile/budget.one/add-competitor/budget.three")
    assert typed.status == 429  # the same bucket as profile requests


async def test_a_token_sent_to_the_picker_must_be_valid(picker_api) -> None:
    api = await picker_api()
    bad = {"Authorization": "Bearer not-a-token"}
    for call in (
        api.get("/api/profile/fitwithmaya/similar-fast", headers=bad),
        api.post("/api/profile/fitwithmaya/add-competitor/fit.coach.amy", headers=bad),
    ):
        resp = await call
        assert resp.status == 401 and (await resp.json())["error_code"] == "INVALID_TOKEN"


async def test_concurrent_checks_of_one_new_competitor_queue_one_high_fetch(
    picker_api, sim: RunningSimulator, pool: asyncpg.Pool
) -> None:
    api = await picker_api()
    answers = await asyncio.gather(
        *(api.post(f"/api/profile/creator.{i}/add-competitor/busy.rival") for i in range(5))
    )
    cards = [(await r.json())["data"] for r in answers]
    assert [r.status for r in answers] == [200] * 5, cards
    assert all(card == cards[0] for card in cards)
    rows = await pool.fetch(
        """SELECT payload FROM eventstore.events
           WHERE stream_id = 'profile-busy.rival' AND event_type = 'ProfileRequested'"""
    )
    assert [(r["payload"]["priority"], r["payload"]["source"]) for r in rows] == [
        ("HIGH", "competitor_picker")
    ]
    stats = await sim.stats()
    assert stats["by_endpoint"]["/ig_get_fb_profile.php"]["total"] == 1
