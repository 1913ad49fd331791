"""profile-ingest against the simulator over real HTTP, with the real broker, store and projector."""

import signal
import zlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY

from libs.analysis import OpenAICompatibleClassifier
from libs.events import EventStore, NewEvent
from libs.events.catalog import ProfileRequested, profile_stream
from libs.instagram import ProviderUnavailable
from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.profile_ingest.__main__ import build as build_ingest
from services.profile_ingest.repository import REQUEST_LOCK_CLASS
from services.profile_ingest.settings import IngestSettings
from tests.conftest import make_settings
from tests.integration.test_relay_and_restarts import projector_runtime
from tests.provider.provider_harness import RunningSimulator
from tests.support import infra
from tests.support.classifier_stub import start_classifier_stub
from tests.support.processes import ServiceProcess
from tests.support.runtime import running

crawler = EventStore(producer="gateway")


@pytest.fixture
async def sim(start_simulator) -> RunningSimulator:
    return await start_simulator(seed=7)


@pytest.fixture
async def stack(gateway_settings, amqp, aiohttp_client) -> AsyncIterator[TestClient]:
    async with running(ServiceRuntime("gateway", gateway_settings), projector_runtime(gateway_settings)):
        runtime = ServiceRuntime("gateway", gateway_settings)
        await runtime.start()
        try:
            yield await aiohttp_client(create_app(runtime, gateway_settings))
        finally:
            await runtime.stop()


@pytest.fixture
async def start_ingest(database_url, amqp_url, topology, sim):
    async with AsyncExitStack() as stack:

        async def start(concurrency: int = 4, max_attempts: int = 3, **provider: object) -> ServiceRuntime:
            settings = make_settings(
                IngestSettings,
                database_url,
                amqp_url,
                topology,
                ingest_concurrency=concurrency,
                ingest_max_attempts=max_attempts,
            )
            runtime = build_ingest(settings, sim.provider(**provider))
            await stack.enter_async_context(running(runtime))
            return runtime

        yield start


async def status(api: TestClient, username: str) -> dict:
    resp = await api.get(f"/api/profile/{username}/status")
    return (await resp.json())["data"] if resp.status == 200 else {}


async def wait_status(api: TestClient, username: str, wanted: str, timeout_s: float = 30) -> dict:
    async def check() -> dict | None:
        data = await status(api, username)
        return data if data.get("status") == wanted else None

    return await infra.eventually(check, timeout_s=timeout_s, message=f"{username} {wanted}")


async def ingested_count(pool: asyncpg.Pool, username: str) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM eventstore.events WHERE stream_id = $1 AND event_type = 'ProfileIngested'",
        profile_stream(username),
    )


async def test_requested_profile_is_completed_and_its_reels_and_outliers_are_served(
    stack: TestClient, start_ingest, pool
) -> None:
    await start_ingest()
    resp = await stack.post("/api/profile/fitwithmaya/request")
    assert (await resp.json())["data"]["profile_type"] == "new"
    done = await wait_status(stack, "fitwithmaya", "completed")
    assert done["completed"] is True and done["attempts"] == 1 and done["error_message"] is None
    assert done["started_at"] <= done["completed_at"]

    profile = (await (await stack.get("/api/profile/fitwithmaya")).json())["data"]
    assert profile["username"] == "fitwithmaya" and profile["followers"] > 0
    assert profile["total_reels"] > 0 and profile["median_views"] > 0
    assert profile["mean_views"] > 0 and profile["std_views"] > 0

    body = (await (await stack.get("/api/profile/fitwithmaya/reels?sort_by=popular&limit=10")).json())["data"]
    reels = body["reels"]
    assert len(reels) == 10 and body["total"] == profile["total_reels"] and body["has_more"] is True
    views = [r["view_count"] for r in reels]
    assert views == sorted(views, reverse=True)
    top = reels[0]
    assert top["outlier_score"] == pytest.approx(top["view_count"] / profile["median_views"], rel=0.01)
    assert top["outlier_score"] > 1
    recent = (await (await stack.get("/api/profile/fitwithmaya/reels?sort_by=recent&limit=5")).json())["data"]
    dates = [r["date_posted"] for r in recent["reels"]]
    assert dates == sorted(dates, reverse=True)

    similar = (await (await stack.get("/api/profile/fitwithmaya/similar?limit=5")).json())["data"]
    assert 1 <= len(similar["similar_profiles"]) <= 5
    assert await ingested_count(pool, "fitwithmaya") == 1

    again = (await (await stack.post("/api/profile/fitwithmaya/request")).json())["data"]
    assert again["skip_reason"] == "recently_completed"


async def ingestion_commits(pool: asyncpg.Pool, username: str) -> list[list[asyncpg.Record]]:
    """The profile's events written with each ProfileIngested: its whole transaction, in stream order."""
    rows = await pool.fetch(
        """SELECT tx_id::text AS tx, stream_version, event_type, payload FROM eventstore.events
           WHERE stream_id = $1 ORDER BY stream_version""",
        profile_stream(username),
    )
    ingested_in = [row["tx"] for row in rows if row["event_type"] == "ProfileIngested"]
    return [[row for row in rows if row["tx"] == tx] for tx in ingested_in]


async def test_an_ingested_profile_is_categorised_in_the_same_commit_and_again_when_ingested_again(
    stack: TestClient, start_ingest, pool
) -> None:
    await start_ingest()
    await stack.post("/api/profile/fit.coach.amy/request")
    await wait_status(stack, "fit.coach.amy", "completed")
    [first] = await ingestion_commits(pool, "fit.coach.amy")
    assert [row["event_type"] for row in first] == [
        "ProfileIngested",
        "ProfileCategorised",
        "ReelsCategorised",
    ]
    versions = [row["stream_version"] for row in first]
    assert versions == list(range(versions[0], versions[0] + 3))
    ingested, profile, content = (row["payload"] for row in first)
    assert (profile["primary_category"], profile["language"]) == ("fitness", "en")
    assert profile["classifier"] == content["classifier"] == "local-1"
    assert 1 <= len(profile["keywords"]) <= 4
    # Every reel and every post has its own categories.
    assert len(ingested["reels"]) > 0 and len(ingested["posts"]) > 0
    named = [item["content_id"] for item in (*ingested["reels"], *ingested["posts"])]
    assert [reel["content_id"] for reel in content["reels"]] == named
    assert all(reel["category"] and reel["content_style"] for reel in content["reels"])

    # Asked for again later (a crawler's request, say): ingested and categorised anew.
    async with pool.acquire() as conn:
        again = ProfileRequested(
            username="fit.coach.amy", source="crawler", priority="LOW", request_id="0000abcd"
        )
        await crawler.append(
            conn, profile_stream("fit.coach.amy"), [NewEvent(event=again)], expected_version=None
        )

    async def ingested_twice() -> list[list[asyncpg.Record]] | None:
        commits = await ingestion_commits(pool, "fit.coach.amy")
        return commits if len(commits) == 2 else None

    _, second = await infra.eventually(ingested_twice, timeout_s=30, message="a second ingestion")
    assert [row["event_type"] for row in second] == [
        "ProfileIngested",
        "ProfileCategorised",
        "ReelsCategorised",
    ]
    assert second[0]["stream_version"] > first[-1]["stream_version"]
    assert second[1]["payload"]["primary_category"] == "fitness"
    assert len(second[2]["payload"]["reels"]) == len(content["reels"])


async def test_ingested_creators_are_browsable_in_the_feed_under_their_niche_and_language(
    stack: TestClient, start_ingest
) -> None:
    """Request to feed through the events: ingestion, categorisation, projection, the discovery reads."""
    await start_ingest()
    creators = {
        "fitwithmaya": ("fitness", "en"),
        "money.kim": ("finance", "en"),
        "cocina.ana.es": ("cooking", "es"),
    }
    for username in creators:
        await stack.post(f"/api/profile/{username}/request")
    for username in creators:
        await wait_status(stack, username, "completed")

    async def feed(path: str, **params: str) -> dict:
        resp = await stack.get(path, params=params)
        assert resp.status == 200, await resp.text()
        return (await resp.json())["data"]

    async def projected() -> bool:
        page = await feed("/api/reels", limit="100")
        return {reel["creator"]["username"] for reel in page["reels"]} == set(creators)

    await infra.eventually(projected, timeout_s=20, message="every creator's reels in the feed")
    for username, (category, language) in creators.items():
        page = await feed("/api/reels", primary_categories=category, languages=language, limit="100")
        mine = [reel for reel in page["reels"] if reel["creator"]["username"] == username]
        assert mine and all(reel["primary_category"] == category for reel in page["reels"]), username
        assert all(
            reel["outlier_score"] >= 0 and reel["score_confidence"] in ("low", "high") for reel in mine
        )
        posts = await feed("/api/posts", primary_categories=category, limit="100")
        assert any(post["creator"]["username"] == username for post in posts["posts"]), username
    options = await feed("/api/filter-options")
    counted = {entry["name"]: entry["count"] for entry in options["primary_categories"]}
    assert set(counted) == {"fitness", "finance", "cooking"}, counted
    assert {entry["name"] for entry in options["languages"]} >= {"en", "es"}


async def test_a_profile_whose_posts_cannot_be_fetched_is_ingested_and_categorised_without_them(
    stack: TestClient, sim, database_url, amqp_url, topology, pool
) -> None:
    provider = sim.provider()

    async def posts_unavailable(username: str, *, limit: int = 50, max_pages: int = 1) -> list:
        raise ProviderUnavailable("scraper", 3, 503, "unavailable")

    provider.get_posts = posts_unavailable  # type: ignore[method-assign]
    settings = make_settings(IngestSettings, database_url, amqp_url, topology)
    async with running(build_ingest(settings, provider)):
        await stack.post("/api/profile/money.kim/request")
        done = await wait_status(stack, "money.kim", "completed")
    assert done["attempts"] == 1
    [commit] = await ingestion_commits(pool, "money.kim")
    ingested, profile, content = (row["payload"] for row in commit)
    assert ingested["posts"] == [] and len(ingested["reels"]) > 0
    assert profile["primary_category"] == "finance"
    assert len(content["reels"]) == len(ingested["reels"])


async def test_posts_are_not_fetched_when_their_limit_is_zero(
    stack: TestClient, sim, database_url, amqp_url, topology, pool
) -> None:
    settings = make_settings(IngestSettings, database_url, amqp_url, topology, ingest_posts_limit=0)
    async with running(build_ingest(settings, sim.provider())):
        await stack.post("/api/profile/travel.tim/request")
        await wait_status(stack, "travel.tim", "completed")
    [commit] = await ingestion_commits(pool, "travel.tim")
    assert commit[0]["payload"]["posts"] == []
    assert not any("posts" in endpoint for endpoint in (await sim.stats())["by_endpoint"])


async def test_with_the_language_models_classifier_the_events_name_it(
    stack: TestClient, sim, database_url, amqp_url, topology, pool
) -> None:
    stub = await start_classifier_stub(api_key="sk-stub")
    classifier = OpenAICompatibleClassifier(base_url=stub.base_url, api_key="sk-stub", model="stub-model")
    settings = make_settings(IngestSettings, database_url, amqp_url, topology)
    try:
        async with running(build_ingest(settings, sim.provider(), classifier)):
            await stack.post("/api/profile/chef.leo/request")
            await wait_status(stack, "chef.leo", "completed")
    finally:
        await stub.stop()
    [commit] = await ingestion_commits(pool, "chef.leo")
    _, profile, content = (row["payload"] for row in commit)
    assert profile["classifier"] == content["classifier"] == "openai-classify-1-stub-model"
    assert profile["primary_category"] == "cooking"
    assert len(stub.requests) == 1


async def test_profile_endpoints_validate_and_404(stack: TestClient) -> None:
    resp = await stack.get("/api/profile/nobody_here")
    assert resp.status == 404 and (await resp.json())["error_code"] == "PROFILE_NOT_FOUND"
    resp = await stack.get("/api/profile/nobody_here/reels?sort_by=sideways")
    assert resp.status == 400 and (await resp.json())["error_code"] == "INVALID_PARAMETER"
    resp = await stack.get("/api/profile/nobody_here/reels?limit=101")
    assert resp.status == 400
    resp = await stack.get("/api/profile/nobody_here/similar?limit=zero")
    assert resp.status == 400


async def test_private_and_unknown_accounts_fail_at_once_with_readable_reasons(
    stack: TestClient, start_ingest, sim
) -> None:
    await start_ingest()
    await stack.post("/api/profile/private_lena/request")
    await stack.post("/api/profile/missing_tom/request")
    private = await wait_status(stack, "private_lena", "failed")
    missing = await wait_status(stack, "missing_tom", "failed")
    assert (
        private["attempts"] == 1 and private["error_message"] == "Instagram account 'private_lena' is private"
    )
    assert missing["attempts"] == 1 and "not found" in missing["error_message"]
    # a failed profile can be asked for again
    again = (await (await stack.post("/api/profile/private_lena/request")).json())["data"]
    assert again["profile_type"] == "new"


async def test_provider_failing_twice_then_succeeding_ends_completed_with_attempts_3(
    stack: TestClient, start_ingest, sim, pool
) -> None:
    await sim.control("fail", {"username": "cook.with.ana", "times": 2, "status": 500})
    await start_ingest(max_retries=0)  # no client-side retry: each failure costs an ingestion attempt
    await stack.post("/api/profile/cook.with.ana/request")
    done = await wait_status(stack, "cook.with.ana", "completed")
    assert done["attempts"] == 3 and done["error_message"] is None
    failures = await pool.fetch(
        """SELECT payload FROM eventstore.events WHERE stream_id = 'profile-cook.with.ana'
           AND event_type = 'ProfileIngestFailed' ORDER BY stream_version"""
    )
    assert [(f["payload"]["attempts"], f["payload"]["will_retry"]) for f in failures] == [
        (1, True),
        (2, True),
    ]
    assert await ingested_count(pool, "cook.with.ana") == 1


async def test_provider_down_beyond_the_maximum_fails_the_request_with_a_reason(
    stack: TestClient, start_ingest, sim
) -> None:
    await sim.control("fail", {"username": "travel.tim", "times": 50, "status": 503})
    await start_ingest(max_attempts=2, max_retries=0)
    await stack.post("/api/profile/travel.tim/request")
    failed = await wait_status(stack, "travel.tim", "failed")
    assert failed["attempts"] == 2 and "unavailable" in failed["error_message"]


async def test_high_requests_overtake_queued_low_ones(stack: TestClient, start_ingest, sim, pool) -> None:
    await sim.control("config", {"latency_ms": 40})
    lows = [f"low.user{i}" for i in range(50)]
    async with pool.acquire() as conn:
        for i, name in enumerate(lows):
            await crawler.append(
                conn,
                profile_stream(name),
                [
                    NewEvent(
                        event=ProfileRequested(
                            username=name, source="crawler", priority="LOW", request_id=f"{i:08x}"
                        )
                    )
                ],
                expected_version=0,
            )
    await infra.eventually(lambda: _published(pool), message="LOW requests published")
    await start_ingest(concurrency=2)
    # The HIGH requests must find LOW work under way: each worker has taken a LOW request off the queue.
    await infra.eventually(lambda: _started(pool, 2), message="both workers on a LOW request")
    highs = [f"high.user{i}" for i in range(5)]
    for name in highs:
        await stack.post(f"/api/profile/{name}/request")
    for name in highs:
        await wait_status(stack, name, "completed", timeout_s=60)
    last_high = await pool.fetchval(
        "SELECT max(completed_at) FROM readmodel.profile_queue WHERE priority = 'HIGH'"
    )
    lows_done_before = await pool.fetchval(
        """SELECT count(*) FROM readmodel.profile_queue
           WHERE priority = 'LOW' AND status = 'COMPLETED' AND completed_at < $1""",
        last_high,
    )
    print(f"LOW requests completed before the last HIGH one: {lows_done_before} of 50")
    assert lows_done_before < 25, f"{lows_done_before} of 50 LOW requests finished before the last HIGH one"


async def _started(pool: asyncpg.Pool, n: int) -> bool:
    started = await pool.fetchval(
        "SELECT count(DISTINCT stream_id) FROM eventstore.events WHERE event_type = 'ProfileIngestStarted'"
    )
    return started >= n


async def _published(pool: asyncpg.Pool) -> bool:
    return await pool.fetchval("SELECT count(*) FROM eventstore.events WHERE published_at IS NULL") == 0


async def test_429_storm_slows_ingestion_without_losing_requests(
    stack: TestClient, start_ingest, sim
) -> None:
    await sim.control("config", {"rate_limit_per_minute": 8, "rate_limit_window_s": 1})
    await start_ingest(concurrency=4, backoff_base_s=0.05, backoff_max_s=1.0, max_retries=6)
    names = [f"busy.creator{i}" for i in range(8)]
    for name in names:
        await stack.post(f"/api/profile/{name}/request")
    for name in names:
        await wait_status(stack, name, "completed", timeout_s=90)
    stats = await sim.stats()
    assert sum(counts.get("429", 0) for counts in stats["by_endpoint"].values()) > 0, stats


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
async def test_ingest_stopped_mid_run_completes_every_request_exactly_once(
    stack: TestClient, sim, pool, service_env: dict[str, str], output_dir: Path, sig: int
) -> None:
    await sim.control("config", {"latency_ms": 150})
    names = [f"crash.test{i}" for i in range(16)]
    for name in names:
        await stack.post(f"/api/profile/{name}/request")
    env = {
        **service_env,
        "OPS_PORT": str(infra.free_port()),
        "INGEST_CONCURRENCY": "4",
        **sim.provider_env(),
    }
    log = output_dir / "ingest.log"
    first = ServiceProcess("services.profile_ingest", env, log).start()
    await infra.eventually(lambda: _completed(pool, 3), timeout_s=60, message="some profiles completed")
    first.kill(sig)
    code = await first.wait_exit()
    if sig == signal.SIGTERM:
        assert code == 0, first.logs()
    second = ServiceProcess("services.profile_ingest", env, log).start()
    try:
        await infra.eventually(lambda: _completed(pool, len(names)), timeout_s=90, message="all completed")
    finally:
        second.kill(signal.SIGTERM)
        await second.wait_exit()
    for name in names:
        assert await ingested_count(pool, name) == 1, name


async def _completed(pool: asyncpg.Pool, n: int) -> bool:
    done = await pool.fetchval("SELECT count(*) FROM readmodel.profile_queue WHERE status = 'COMPLETED'")
    return done >= n


async def test_a_delivery_finding_its_request_held_elsewhere_comes_back_instead_of_being_dropped(
    stack: TestClient, start_ingest, pool
) -> None:
    """The holder here is a session of the test's own: as if another worker had the request and then
    lost its message with its channel. The held delivery must still end in an ingested profile."""
    resp = await stack.post("/api/profile/held.elsewhere/request")
    request_id = (await resp.json())["data"]["request_id"]
    key = zlib.crc32(request_id.encode()) & 0x7FFFFFFF
    async with pool.acquire() as holder:
        assert await holder.fetchval("SELECT pg_try_advisory_lock($1, $2)", REQUEST_LOCK_CLASS, key)
        await start_ingest()

        labels = {"service": "profile-ingest", "consumer": "profile-ingest", "event_type": "ProfileRequested"}

        async def deferred() -> bool:
            consumed = REGISTRY.get_sample_value(
                "viralspot_events_consumed_total", {**labels, "outcome": "deferred"}
            )
            return (consumed or 0) >= 1

        await infra.eventually(deferred, message="the delivery deferred")
        assert (await status(stack, "held.elsewhere"))["status"] == "pending"
        await holder.execute("SELECT pg_advisory_unlock($1, $2)", REQUEST_LOCK_CLASS, key)
    await wait_status(stack, "held.elsewhere", "completed")
    assert await ingested_count(pool, "held.elsewhere") == 1
