"""The crawler against the simulator over real HTTP, with the real gateway, broker, store and projector."""

import asyncio
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from infra.simulator.world import similar_to
from libs.events import EventStore, NewEvent
from libs.events.catalog import ProfileIngested, ProfileRequested, ProfileSnapshot, profile_stream
from libs.events.metrics import EVENTS_CONSUMED
from libs.runtime import ServiceRuntime
from services.crawler.__main__ import build as build_crawler
from services.crawler.settings import CrawlerSettings
from services.profile_ingest.__main__ import build as build_ingest
from services.profile_ingest.settings import IngestSettings
from tests.conftest import make_settings
from tests.provider.provider_harness import RunningSimulator
from tests.support import infra
from tests.support.processes import ServiceProcess
from tests.support.runtime import running

ADMIN = {"Authorization": "Bearer test-admin-token"}
# The simulator's (seed 7) similar accounts of glow.mia, in its order.
GLOW_MIA_SIMILAR = [a.username for a in similar_to(7, "glow.mia")]
gateway = EventStore(producer="gateway")
ingest = EventStore(producer="profile-ingest")


@pytest.fixture
async def sim(start_simulator) -> RunningSimulator:
    return await start_simulator(seed=7)


@pytest.fixture
async def start_crawler(database_url, amqp_url, topology, sim) -> AsyncIterator[Any]:
    async with AsyncExitStack() as stack:

        async def start(provider: dict[str, Any] | None = None, **settings: Any) -> ServiceRuntime:
            options = {"crawler_lease_s": 2.0, "crawler_poll_interval_s": 0.1, "ops_port": None, **settings}
            config = make_settings(CrawlerSettings, database_url, amqp_url, topology, **options)
            runtime = build_crawler(config, sim.provider(**(provider or {})))
            await stack.enter_async_context(running(runtime))
            return runtime

        yield start


async def start_run(api: TestClient, **body: Any) -> str:
    resp = await api.post("/api/crawler/runs", json=body, headers=ADMIN)
    payload = await resp.json()
    assert resp.status == 202, payload
    assert payload["data"]["status"] == "pending"
    return payload["data"]["run_id"]


async def run_status(api: TestClient, run_id: str) -> dict[str, Any]:
    resp = await api.get(f"/api/crawler/runs/{run_id}")
    assert resp.status == 200, await resp.text()
    return (await resp.json())["data"]


async def wait_finished(api: TestClient, run_id: str, timeout_s: float = 30) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        data = await run_status(api, run_id)
        return data if data["status"] in ("completed", "failed") else None

    return await infra.eventually(check, timeout_s=timeout_s, message=f"crawl {run_id} finished")


async def crawl_events(pool: asyncpg.Pool, run_id: str, event_type: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        """SELECT payload FROM eventstore.events WHERE stream_id = $1 AND event_type = $2
           ORDER BY stream_version""",
        f"crawl-{run_id}",
        event_type,
    )
    return [r["payload"] for r in rows]


async def requests_of_run(pool: asyncpg.Pool, run_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        """SELECT payload FROM eventstore.events
           WHERE event_type = 'ProfileRequested' AND payload->>'crawl_run_id' = $1 ORDER BY position""",
        run_id,
    )
    return [r["payload"] for r in rows]


async def request_count(pool: asyncpg.Pool, username: str) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM eventstore.events WHERE stream_id = $1 AND event_type = 'ProfileRequested'",
        profile_stream(username),
    )


# A delivery is finished once its consumer is done with it; a deferred or retried one comes back.
FINISHED = ("handled", "duplicate", "dead_lettered")


def ingest_deliveries(event_type: str) -> float:
    """profile-ingest's finished deliveries, in its work queue and its LOW lane (where it moves LOW ones)."""
    return sum(finished_deliveries(c, event_type) for c in ("profile-ingest", "profile-ingest-low"))


def finished_deliveries(consumer: str, event_type: str) -> float:
    """Deliveries of `event_type` that `consumer` finished with in this process (its consumed-events metric)."""
    return sum(
        sample.value
        for family in EVENTS_CONSUMED.collect()
        for sample in family.samples
        if sample.name == "viralspot_events_consumed_total"
        and sample.labels["consumer"] == consumer
        and sample.labels["event_type"] == event_type
        and sample.labels["outcome"] in FINISHED
    )


def assert_counts_add_up(data: dict[str, Any]) -> None:
    assert data["discovered"] == data["queued"] + data["skipped_duplicates"] + data["skipped_low_quality"], (
        data
    )


async def user_requested(pool: asyncpg.Pool, *usernames: str) -> None:
    async with pool.acquire() as conn:
        for i, name in enumerate(usernames):
            requested = ProfileRequested(
                username=name, source="frontend", priority="HIGH", request_id=f"{i:08x}"
            )
            await gateway.append(conn, profile_stream(name), [NewEvent(event=requested)], expected_version=0)


async def ingested(pool: asyncpg.Pool, *profiles: tuple[str, int, str]) -> None:
    """Profiles profile-ingest fetched earlier (username, followers, bio): the automatic seed pool."""
    async with pool.acquire() as conn:
        for i, (name, followers, bio) in enumerate(profiles):
            event = ProfileIngested(
                username=name,
                request_id=f"{i:08x}",
                attempts=1,
                duration_ms=10,
                profile=ProfileSnapshot(username=name, followers=followers, bio=bio),
            )
            await ingest.append(conn, profile_stream(name), [NewEvent(event=event)], expected_version=None)


async def test_run_from_two_seeds_queues_exactly_the_target_low_and_new(
    api: TestClient, start_crawler, pool
) -> None:
    known = ("moneynovak", "recipemoreau")  # among the seeds' first similar accounts
    await user_requested(pool, *known)
    await start_crawler()
    run_id = await start_run(
        api,
        seed_usernames=["@Money.Kim", "chef_leo"],
        target_profiles=12,
        per_seed_limit=6,
        max_rounds=2,
        min_followers=10_000,
    )
    done = await wait_finished(api, run_id)
    assert done["status"] == "completed" and done["finish_reason"] == "target_reached", done
    assert done["queued"] == 12 and done["rounds_completed"] == 2
    assert done["seeds_used"] == ["money.kim", "chef_leo"]
    assert done["skipped_duplicates"] >= 2 and done["skipped_low_quality"] >= 1
    assert_counts_add_up(done)
    assert done["started_at"] <= done["completed_at"]

    requests = await requests_of_run(pool, run_id)
    names = [r["username"] for r in requests]
    assert len(names) == 12 and len(set(names)) == 12
    assert {r["priority"] for r in requests} == {"LOW"} and {r["source"] for r in requests} == {"crawler"}
    assert not set(names) & {*known, "money.kim", "chef_leo"}
    for name in names:
        assert await request_count(pool, name) == 1, name
    skipped = {d["username"]: d for d in await crawl_events(pool, run_id, "ProfileDiscovered")}
    assert all(skipped[name]["outcome"] == "skipped_duplicate" for name in known)
    assert skipped["moneynovak"]["reason"] == "already_in_queue"
    assert len(skipped) == done["discovered"]

    async def projected() -> bool:
        rows = await pool.fetch(
            "SELECT priority, source FROM readmodel.profile_queue WHERE username = ANY($1::text[])", names
        )
        return len(rows) == 12 and {(r["priority"], r["source"]) for r in rows} == {("LOW", "crawler")}

    await infra.eventually(projected, message="crawler requests in the profile queue")


async def test_automatic_seeds_spread_across_niches_and_rotate(api: TestClient, start_crawler, pool) -> None:
    await start_crawler()
    await ingested(
        pool,
        ("fitwithmaya", 900_000, "Fitness coach | home workouts"),
        ("fit.by.leo", 800_000, "Fitness coach | protein and squats"),
        ("money.kim", 50_000, "Money educator | budget and invest"),
        ("chef_leo", 40_000, "Home cook | recipes"),
    )
    await infra.eventually(
        lambda: pool.fetchval("SELECT count(*) = 4 FROM crawler.known_profiles"), message="seed pool fed"
    )
    niches = dict(await pool.fetch("SELECT username, niche FROM crawler.known_profiles"))
    assert niches == {
        "fitwithmaya": "fitness",
        "fit.by.leo": "fitness",
        "money.kim": "finance",
        "chef_leo": "cooking",
    }

    first = await wait_finished(
        api, await start_run(api, target_profiles=100, per_seed_limit=2, max_rounds=3, min_followers=0)
    )
    assert first["status"] == "completed" and first["finish_reason"] == "max_rounds_reached", first
    # The biggest first, then a niche not crawled yet rather than the second fitness account.
    assert first["seeds_used"] == ["fitwithmaya", "money.kim", "chef_leo"]
    assert first["queued"] == 6 and first["seed_usernames"] == []
    assert_counts_add_up(first)

    second = await wait_finished(
        api, await start_run(api, target_profiles=100, per_seed_limit=2, max_rounds=1, min_followers=0)
    )
    assert second["seeds_used"] == ["fit.by.leo"], "the seed not used recently comes first"
    first_names = {r["username"] for r in await requests_of_run(pool, first["run_id"])}
    second_names = {r["username"] for r in await requests_of_run(pool, second["run_id"])}
    assert len(second_names) == 2 and not first_names & second_names


async def test_user_request_for_a_crawled_profile_is_promoted_and_processed_once(
    api: TestClient, start_crawler, pool, sim, database_url, amqp_url, topology
) -> None:
    await start_crawler()
    run_id = await start_run(
        api, seed_usernames=["wander.ana"], target_profiles=3, per_seed_limit=3, max_rounds=1
    )
    assert (await wait_finished(api, run_id))["queued"] == 3
    crawled = (await requests_of_run(pool, run_id))[0]

    resp = await api.post(f"/api/profile/{crawled['username']}/request")
    answer = (await resp.json())["data"]
    assert answer["skip_reason"] == "already_in_queue" and answer["priority"] == "HIGH"
    assert answer["request_id"] == crawled["request_id"]
    promoted = await pool.fetchval(
        """SELECT count(*) FROM eventstore.events WHERE stream_id = $1 AND event_type = 'ProfileRequestPromoted'""",
        profile_stream(crawled["username"]),
    )
    assert promoted == 1 and await request_count(pool, crawled["username"]) == 1

    settings = make_settings(IngestSettings, database_url, amqp_url, topology, ops_port=None)
    requests_before = ingest_deliveries("ProfileRequested")
    promotions_before = ingest_deliveries("ProfileRequestPromoted")
    async with running(build_ingest(settings, sim.provider())):

        async def all_ingested() -> bool:
            return await pool.fetchval(
                """SELECT count(*) = 3 FROM readmodel.profile_queue
                   WHERE source = 'crawler' AND status = 'COMPLETED'"""
            )

        await infra.eventually(all_ingested, message="crawled profiles ingested")

        async def every_delivery_finished() -> bool:
            # The three LOW requests and the promotion: the crawled profile's second delivery included.
            requests = ingest_deliveries("ProfileRequested") - requests_before
            promotions = ingest_deliveries("ProfileRequestPromoted") - promotions_before
            return requests >= 3 and promotions >= 1

        await infra.eventually(every_delivery_finished, message="both deliveries of the promoted request")
    count = await pool.fetchval(
        "SELECT count(*) FROM eventstore.events WHERE stream_id = $1 AND event_type = 'ProfileIngested'",
        profile_stream(crawled["username"]),
    )
    assert count == 1


async def test_crawl_racing_user_requests_never_queues_a_profile_twice(
    api: TestClient, start_crawler, pool, sim
) -> None:
    await sim.control("config", {"latency_ms": 10})
    await start_crawler()
    run_id = await start_run(
        api, seed_usernames=["glow.mia"], target_profiles=60, per_seed_limit=60, max_rounds=1, min_followers=0
    )

    async def under_way() -> bool:
        return await pool.fetchval("SELECT discovered >= 3 FROM crawler.runs WHERE run_id = $1::uuid", run_id)

    await infra.eventually(under_way, message="the crawl under way")
    # Users ask for glow.mia's similar accounts from the end of the list while the crawler walks it from
    # the start: they meet somewhere in the middle, racing on the same profile streams.
    candidates = GLOW_MIA_SIMILAR[:2:-1]
    for name in candidates:
        resp = await api.post(f"/api/profile/{name}/request")
        assert resp.status == 200
        await asyncio.sleep(0.02)
    done = await wait_finished(api, run_id)
    assert_counts_add_up(done)
    outcomes = {d["username"]: d["outcome"] for d in await crawl_events(pool, run_id, "ProfileDiscovered")}
    assert set(candidates) - {n for n in candidates if n.startswith("private_")} <= set(outcomes)
    for name in candidates:
        assert await request_count(pool, name) == 1, name
    raced = Counter(outcomes[name] for name in candidates if name in outcomes)
    print("crawler outcomes for the raced names:", raced)
    assert raced["queued"] > 0 and raced["skipped_duplicate"] > 0, raced


async def test_user_request_landing_during_the_crawlers_decision_wins_and_the_crawler_skips(
    api: TestClient, start_crawler, pool, sim
) -> None:
    # glow.mia's third similar account comes without a follower count: the crawler looks it up, slowly.
    before, contested = GLOW_MIA_SIMILAR[1], GLOW_MIA_SIMILAR[2]
    await sim.control("fail", {"username": contested, "times": 1, "status": 200, "delay_ms": 1500})
    await start_crawler()
    run_id = await start_run(
        api, seed_usernames=["glow.mia"], target_profiles=5, per_seed_limit=5, max_rounds=1
    )

    async def deciding_on_contested() -> bool:
        return await pool.fetchval(
            "SELECT count(*) = 1 FROM crawler.discoveries WHERE run_id = $1::uuid AND username = $2",
            run_id,
            before,
        )

    await infra.eventually(deciding_on_contested, message=f"the crawler past {before}")
    answer = (await (await api.post(f"/api/profile/{contested}/request")).json())["data"]
    assert answer["profile_type"] == "new"
    done = await wait_finished(api, run_id)
    assert done["queued"] == 5
    assert_counts_add_up(done)
    outcome = {d["username"]: d for d in await crawl_events(pool, run_id, "ProfileDiscovered")}[contested]
    assert (outcome["outcome"], outcome["reason"]) == ("skipped_duplicate", "already_in_queue")
    assert await request_count(pool, contested) == 1


async def test_provider_outage_pauses_the_run_then_resumes_it(
    api: TestClient, start_crawler, pool, sim
) -> None:
    await sim.control("fail", {"username": "code.sam", "times": 2, "status": 503})
    await start_crawler(provider={"max_retries": 0}, crawler_pause_base_s=0.8)
    run_id = await start_run(
        api, seed_usernames=["code.sam"], target_profiles=4, per_seed_limit=4, max_rounds=1
    )

    async def paused() -> dict[str, Any] | None:
        data = await run_status(api, run_id)
        return data if data["status"] == "paused" else None

    seen = await infra.eventually(paused, message="run paused")
    assert "unavailable" in seen["error_message"] and seen["resume_at"] is not None
    done = await wait_finished(api, run_id)
    assert done["status"] == "completed" and done["queued"] == 4 and done["pauses"] == 2
    assert done["error_message"] is None
    pauses = await crawl_events(pool, run_id, "CrawlPaused")
    assert [p["pauses"] for p in pauses] == [1, 2]
    starts = await crawl_events(pool, run_id, "CrawlStarted")
    assert [s["resumed"] for s in starts] == [False, True, True]


async def test_provider_down_for_good_fails_the_run_with_a_reason(
    api: TestClient, start_crawler, sim
) -> None:
    await sim.control("fail", {"username": "code.sam", "times": 50, "status": 503})
    await start_crawler(provider={"max_retries": 0}, crawler_pause_base_s=0.1, crawler_max_pauses=2)
    run_id = await start_run(api, seed_usernames=["code.sam"], target_profiles=4)
    done = await wait_finished(api, run_id)
    assert done["status"] == "failed" and "unavailable" in done["error_message"], done
    assert done["pauses"] == 2 and done["completed_at"] is not None


async def test_unknown_and_private_seeds_are_skipped(api: TestClient, start_crawler) -> None:
    await start_crawler()
    run_id = await start_run(
        api, seed_usernames=["missing_seed", "private_seed", "fitwithmaya"], target_profiles=2, max_rounds=3
    )
    done = await wait_finished(api, run_id)
    assert done["status"] == "completed" and done["seeds_used"] == ["fitwithmaya"] and done["queued"] == 2

    hopeless = await wait_finished(api, await start_run(api, seed_usernames=["missing_one"]))
    assert hopeless["status"] == "failed" and "could be crawled" in hopeless["error_message"]
    no_seeds = await wait_finished(api, await start_run(api))
    assert no_seeds["status"] == "failed" and "seed" in no_seeds["error_message"]


async def test_scheduled_runs_use_automatic_seeds(api: TestClient, start_crawler, pool) -> None:
    await ingested(pool, ("chef_leo", 40_000, "Home cook"))
    await start_crawler(
        crawler_schedule_interval_s=0.5, crawler_schedule_target_profiles=2, crawler_schedule_max_rounds=1
    )

    async def scheduled_run() -> str | None:
        return await pool.fetchval(
            "SELECT run_id::text FROM crawler.runs WHERE trigger = 'schedule' AND status = 'completed' LIMIT 1"
        )

    run_id = await infra.eventually(scheduled_run, message="a scheduled run completed")
    done = await wait_finished(api, run_id)
    assert done["trigger"] == "schedule" and done["seeds_used"] == ["chef_leo"] and done["queued"] == 2


async def test_starting_a_run_needs_the_admin_token_and_a_valid_body(api: TestClient) -> None:
    resp = await api.post("/api/crawler/runs", json={})
    assert resp.status == 401 and (await resp.json())["error_code"] == "UNAUTHORIZED"
    resp = await api.post("/api/crawler/runs", json={}, headers={"Authorization": "Bearer wrong"})
    assert resp.status == 403 and (await resp.json())["error_code"] == "FORBIDDEN"

    resp = await api.post("/api/crawler/runs", data="{not json", headers=ADMIN)
    assert resp.status == 400 and (await resp.json())["error_code"] == "INVALID_JSON"
    for body in (
        {"target_profiles": 0},
        {"target_profiles": 1001},
        {"max_rounds": 21},
        {"per_seed_limit": 81},
        {"min_followers": -1},
        {"target_profiles": "5"},
        {"seed_usernames": ["bad name!"]},
        {"seed_usernames": "fitwithmaya"},
        {"exclude_private": "yes"},
        {"target_profile": 5},
    ):
        resp = await api.post("/api/crawler/runs", json=body, headers=ADMIN)
        payload = await resp.json()
        assert resp.status == 422 and payload["error_code"] == "VALIDATION_ERROR", (body, payload)

    resp = await api.post("/api/crawler/runs", json={"seed_usernames": ["@A.B", "a.b"]}, headers=ADMIN)
    data = (await resp.json())["data"]
    assert resp.status == 202 and resp.headers["Location"] == f"/api/crawler/runs/{data['run_id']}"
    assert data["seed_usernames"] == ["a.b"] and data["target_profiles"] == 50 and data["max_rounds"] == 5
    assert data["per_seed_limit"] == 4 and data["min_followers"] == 1000 and data["exclude_private"] is True
    # No crawler is running: the run stays pending, and is visible at once.
    assert (await run_status(api, data["run_id"]))["status"] == "pending"

    resp = await api.get("/api/crawler/runs/not-a-uuid")
    assert resp.status == 400 and (await resp.json())["error_code"] == "INVALID_RUN_ID"
    resp = await api.get(f"/api/crawler/runs/{uuid.uuid4()}")
    assert resp.status == 404 and (await resp.json())["error_code"] == "CRAWL_RUN_NOT_FOUND"


@pytest.mark.slow
async def test_crawler_killed_mid_run_resumes_and_its_counts_add_up(
    api: TestClient, sim, pool, service_env: dict[str, str], output_dir: Path
) -> None:
    await sim.control("config", {"latency_ms": 60})
    env = {
        **service_env,
        "OPS_PORT": str(infra.free_port()),
        "CRAWLER_LEASE_S": "2",
        "CRAWLER_POLL_INTERVAL_S": "0.2",
        **sim.provider_env(),
    }
    log = output_dir / "crawler.log"
    log.unlink(missing_ok=True)
    first = ServiceProcess("services.crawler", env, log).start()
    await first.wait_ready(f"http://127.0.0.1:{env['OPS_PORT']}/readyz")
    run_id = await start_run(
        api,
        seed_usernames=["money.kim", "chef_leo", "wander.ana"],
        target_profiles=24,
        per_seed_limit=8,
        max_rounds=3,
        min_followers=10_000,
    )

    async def queued_some() -> bool:
        return await pool.fetchval("SELECT queued >= 5 FROM crawler.runs WHERE run_id = $1::uuid", run_id)

    await infra.eventually(queued_some, timeout_s=30, message="the crawl under way")
    first.kill(signal.SIGKILL)
    await first.wait_exit()
    assert (await run_status(api, run_id))["status"] == "running"

    second = ServiceProcess("services.crawler", env, log).start()
    try:
        done = await wait_finished(api, run_id, timeout_s=45)
    finally:
        second.kill(signal.SIGTERM)
        assert await second.wait_exit() == 0, second.logs()
    assert done["status"] == "completed" and done["queued"] == 24, done
    assert_counts_add_up(done)
    requests = await requests_of_run(pool, run_id)
    names = Counter(r["username"] for r in requests)
    assert len(requests) == 24 and max(names.values()) == 1
    discoveries = await crawl_events(pool, run_id, "ProfileDiscovered")
    assert len(discoveries) == done["discovered"] == len({d["username"] for d in discoveries})
    row = await pool.fetchrow("SELECT * FROM crawler.runs WHERE run_id = $1::uuid", run_id)
    assert (row["discovered"], row["queued"]) == (done["discovered"], done["queued"])
    starts = await crawl_events(pool, run_id, "CrawlStarted")
    assert [s["resumed"] for s in starts] == [False, True] and starts[0]["worker"] != starts[1]["worker"]
