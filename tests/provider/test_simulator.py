"""The simulator itself: deterministic world, the provider's HTTP shapes, and its control switches."""

from __future__ import annotations

import statistics
import time

import aiohttp
import pytest

from infra.simulator import SimulatorConfig, world
from infra.simulator.vocabulary import NICHES
from libs.instagram import Profile, Reel, SimilarAccount
from tests.provider.provider_harness import NOW, RunningSimulator, StartSimulator

NOW_TS = int(NOW.timestamp())
HEADERS = {"x-rapidapi-key": "k", "x-rapidapi-host": "instagram-scraper-stable-api"}


async def fetch_world(
    sim: RunningSimulator, username: str
) -> tuple[Profile, list[Reel], list[SimilarAccount]]:
    async with sim.provider() as client:
        profile = await client.get_profile(username)
        reels = await client.get_reels(username, limit=150)
        similar = await client.get_similar_accounts(username)
    return profile, reels, similar


async def test_same_seed_gives_the_same_world_and_another_seed_a_different_one(
    start_simulator: StartSimulator,
) -> None:
    first, second, other = [await start_simulator(seed=seed) for seed in (42, 42, 43)]
    assert await fetch_world(first, "travel.ana") == await fetch_world(second, "travel.ana")
    profile_a, reels_a, _ = await fetch_world(first, "travel.ana")
    profile_b, reels_b, _ = await fetch_world(other, "travel.ana")
    assert profile_a != profile_b
    assert reels_a != reels_b


def test_generation_does_not_depend_on_process_state() -> None:
    world.creator.cache_clear()
    world.reels_of.cache_clear()
    again = (world.creator(7, "someone"), world.reels_of(7, "someone", NOW_TS))
    world.creator.cache_clear()
    world.reels_of.cache_clear()
    assert again == (world.creator(7, "someone"), world.reels_of(7, "someone", NOW_TS))
    # Pinned: a change here changes every demo and fixture built on the simulator.
    assert world.creator(42, "fitwithmaya").followers == 33630


def test_the_world_looks_like_instagram() -> None:
    names = [f"creator{n}" for n in range(300)]
    creators = [world.creator(42, name) for name in names]
    followers = sorted(c.followers for c in creators)
    assert followers[0] >= 1_000 and followers[-1] <= 5_000_000
    assert 25_000 <= statistics.median(followers) <= 100_000
    assert {c.niche.name for c in creators} == {niche.name for niche in NICHES}
    outlier_shares, silent, recent = [], 0, 0
    all_reels = 0
    for name in names[:60]:
        reels = world.reels_of(42, name, NOW_TS)
        assert 30 <= len(reels) <= 150
        median = statistics.median(r.views for r in reels if r.views)
        outlier_shares.append(sum(1 for r in reels if r.views and r.views >= 5 * median) / len(reels))
        silent += sum(1 for r in reels if not r.has_speech)
        recent += any(r.taken_at >= NOW_TS - 7 * 86_400 for r in reels)
        all_reels += len(reels)
        assert reels[0].taken_at >= NOW_TS - 2 * 86_400
        assert NOW_TS - 181 * 86_400 <= reels[-1].taken_at <= NOW_TS - 149 * 86_400
    assert 0.04 <= statistics.mean(outlier_shares) <= 0.11
    assert 0.10 <= silent / all_reels <= 0.20
    assert recent >= 50


def test_usernames_choose_their_niche_and_similar_accounts_mostly_share_it() -> None:
    assert world.niche_of(42, "fitwithmaya").name == "fitness"
    assert world.niche_of(42, "money.kim").name == "finance"
    assert world.niche_of(42, "private_chef_leo").name == "cooking"
    for name in ("fitwithmaya", "money.kim", "wander.sofia", "somebody"):
        similar = world.similar_to(42, name)
        own = world.niche_of(42, name)
        assert 10 <= len(similar) <= 80
        assert len({c.username for c in similar}) == len(similar) and name not in {
            c.username for c in similar
        }
        assert sum(c.niche == own for c in similar) >= len(similar) * 0.6
        assert any(c.username.startswith("private_") and c.is_private for c in similar)
        assert any(c.followers < 5_000 for c in similar)
        assert all(world.USERNAME.match(c.username) for c in similar)


def test_reference_time_defaults_to_today_at_midnight_utc() -> None:
    now = SimulatorConfig().reference_time()
    assert (now.hour, now.minute, now.second, now.tzinfo is not None) == (0, 0, 0, True)
    assert SimulatorConfig(now=NOW).reference_time() == NOW


async def test_requests_without_an_api_key_are_refused(simulator: RunningSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{simulator.base_url}/ig_get_fb_profile.php"
        async with session.post(url, data={"username_or_url": "maya"}) as response:
            assert response.status == 403
            assert await response.json() == {"message": "You are not subscribed to this API."}


async def test_missing_and_private_accounts_answer_error_objects(simulator: RunningSimulator) -> None:
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        base = simulator.base_url
        async with session.post(f"{base}/ig_get_fb_profile.php", data={"username_or_url": "missing_x"}) as r:
            assert (r.status, (await r.json())["error"]) == (200, "User not found")
        async with session.post(f"{base}/get_ig_user_reels.php", data={"username_or_url": "private_x"}) as r:
            assert (r.status, (await r.json())["error"]) == (200, "This account is private")
        async with session.get(f"{base}/get_ig_similar_accounts.php?username_or_url=private_x") as r:
            assert (r.status, (await r.json())["error"]) == (200, "This account is private")
        async with session.post(
            f"{base}/get_ig_user_reels.php", data={"username_or_url": "a", "amount": "x"}
        ) as r:
            assert r.status == 400


async def test_reels_pages_follow_the_provider_shape(simulator: RunningSimulator) -> None:
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        form = {"username_or_url": "https://www.instagram.com/fitwithmaya/", "amount": "10"}
        async with session.post(f"{simulator.base_url}/get_ig_user_reels.php", data=form) as response:
            page = await response.json()
        assert len(page["reels"]) == 10 and page["pagination_token"]
        media = page["reels"][0]["node"]["media"]
        assert {"pk", "code", "taken_at", "like_count", "comment_count", "image_versions2"} <= set(media)
        form["pagination_token"] = "bm9wZQ=="
        async with session.post(f"{simulator.base_url}/get_ig_user_reels.php", data=form) as response:
            assert response.status == 400


async def test_transcripts_are_chunked_and_a_silent_reel_has_empty_content(
    simulator: RunningSimulator,
) -> None:
    reels = world.reels_of(42, "fitwithmaya", NOW_TS)
    spoken = next(r for r in reels if r.has_speech)
    silent = next(r for r in reels if not r.has_speech)
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        url = f"{simulator.base_url}/transcript"
        query = {"url": f"https://www.instagram.com/reel/{spoken.code}/", "chunkSize": "60", "text": "false"}
        async with session.get(url, params=query) as response:
            body = await response.json()
        assert body["lang"] == "en" and len(body["content"]) > 1
        assert all(len(chunk["text"]) <= 60 for chunk in body["content"])
        assert " ".join(chunk["text"] for chunk in body["content"]) == world.transcript_of(
            42, "fitwithmaya", spoken
        )
        query["url"] = f"https://www.instagram.com/reel/{silent.code}/"
        async with session.get(url, params=query) as response:
            assert (await response.json())["content"] == []


async def test_error_rate_and_latency_switch_at_runtime_and_reset_restores_them(
    simulator: RunningSimulator,
) -> None:
    await simulator.control("config", {"error_rate": 1.0, "latency_ms": 50})
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        url = f"{simulator.base_url}/get_ig_similar_accounts.php?username_or_url=maya"
        started = time.monotonic()
        statuses = []
        for _ in range(5):
            async with session.get(url) as response:
                statuses.append(response.status)
        assert time.monotonic() - started >= 0.25
        assert set(statuses) <= {500, 502, 503}
        stats = await simulator.stats()
        assert stats["by_username"]["maya"]["total"] == 5
        assert stats["config"]["error_rate"] == 1.0
        await simulator.control("reset")
        async with session.get(url) as response:
            assert response.status == 200
        assert (await simulator.stats())["total"] == 1


async def test_config_rejects_unknown_or_impossible_settings(simulator: RunningSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        for body in ({"colour": "red"}, {"error_rate": 2}):
            async with session.post(f"{simulator.base_url}/__sim/config", json=body) as response:
                assert response.status == 400


async def test_a_failure_plan_covers_media_and_transcripts_of_that_account(
    simulator: RunningSimulator,
) -> None:
    reel = world.reels_of(42, "fitwithmaya", NOW_TS)[0]
    await simulator.control("fail", {"username": "fitwithmaya", "times": 1, "status": 503})
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        url = f"{simulator.base_url}/get_media_data.php"
        params = {"reel_post_code_or_url": reel.code, "type": "reel"}
        statuses = []
        for _ in range(2):
            async with session.get(url, params=params) as response:
                statuses.append(response.status)
    assert statuses == [503, 200]


@pytest.mark.parametrize("days", [0, 3])
def test_a_later_reference_time_moves_every_reel_with_it(days: int) -> None:
    later = world.reels_of(42, "fitwithmaya", NOW_TS + days * 86_400)
    base = world.reels_of(42, "fitwithmaya", NOW_TS)
    assert [r.taken_at - b.taken_at for r, b in zip(later, base, strict=True)] == [days * 86_400] * len(base)
