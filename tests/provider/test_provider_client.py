"""The real client against the simulator over real HTTP: data, pagination, failures and retries."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from infra.simulator import world
from libs.instagram import (
    AccountNotFound,
    AccountPrivate,
    InstagramProvider,
    MediaNotFound,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from libs.instagram.ratelimit import TokenBucket
from tests.provider.provider_harness import NOW, RunningSimulator, StartSimulator


def account_with_reels(at_least: int = 0, at_most: int = 1_000) -> str:
    """A simulated username with a reel count in range (the simulator's world is the oracle)."""
    for number in range(10_000):
        name = f"creator{number}"
        if at_least <= world.creator(42, name).reel_count <= at_most:
            return name
    raise AssertionError("no such account in the simulated world")


def calls(endpoint: str, outcome: str) -> float:
    labels = {"provider": "scraper", "endpoint": endpoint, "outcome": outcome}
    return REGISTRY.get_sample_value("viralspot_provider_calls_total", labels) or 0.0


async def test_profile_of_a_simulated_creator(provider: InstagramProvider) -> None:
    profile = await provider.get_profile("https://www.instagram.com/FitWithMaya/")
    expected = world.creator(42, "fitwithmaya")
    assert profile.username == "fitwithmaya"
    assert profile.followers == expected.followers
    assert profile.posts_count == expected.posts_count
    assert profile.account_type == ("business" if expected.is_business else "personal")
    assert not profile.is_private


async def test_pagination_fetches_exactly_one_hundred_reels(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    name = account_with_reels(at_least=120)
    reels = await provider.get_reels(name, limit=100, page_size=50)
    assert len(reels) == 100
    assert len({reel.shortcode for reel in reels}) == 100
    assert [reel.taken_at for reel in reels] == sorted((reel.taken_at for reel in reels), reverse=True)
    assert all(
        reel.taken_at.tzinfo is not None and reel.url.endswith(f"/{reel.shortcode}/") for reel in reels
    )
    assert await simulator.requests_about(name) == 2


async def test_pagination_stops_when_the_creator_has_no_more_reels(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    name = account_with_reels(at_most=60)
    reels = await provider.get_reels(name, limit=100, page_size=25)
    assert len(reels) == world.creator(42, name).reel_count
    assert await simulator.requests_about(name) == -(-len(reels) // 25)


async def test_since_fetches_only_recent_reels_and_stops_paging(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    name = account_with_reels(at_least=120)
    since = NOW - timedelta(days=7)
    reels = await provider.get_reels(name, limit=100, page_size=20, since=since)
    expected = [r for r in world.reels_of(42, name, int(NOW.timestamp())) if r.taken_at >= since.timestamp()]
    assert 0 < len(reels) == len(expected)
    assert all(reel.taken_at >= since for reel in reels)
    assert await simulator.requests_about(name) == 1


async def test_media_data_matches_the_reel_in_the_feed(provider: InstagramProvider) -> None:
    [from_feed] = await provider.get_reels("fitwithmaya", limit=1)
    media = await provider.get_media(from_feed.url)
    assert media == from_feed
    with pytest.raises(MediaNotFound):
        await provider.get_media("doesnotexist")


async def test_unknown_account_is_not_found_without_retries(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    before = calls("profile", "not_found")
    with pytest.raises(AccountNotFound) as raised:
        await provider.get_profile("missing_someone")
    assert str(raised.value) == "Instagram account 'missing_someone' was not found"
    assert raised.value.transient is False
    assert await simulator.requests_about("missing_someone") == 1
    assert calls("profile", "not_found") == before + 1


async def test_a_404_answer_is_not_found_without_retries(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    await simulator.control("fail", {"username": "gone.away", "times": 3, "status": 404})
    with pytest.raises(AccountNotFound):
        await provider.get_reels("gone.away")
    assert await simulator.requests_about("gone.away") == 1


async def test_private_account_has_a_profile_but_no_reels_or_similar_accounts(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    profile = await provider.get_profile("private_jane")
    assert profile.is_private
    with pytest.raises(AccountPrivate, match="'private_jane' is private"):
        await provider.get_reels("private_jane")
    with pytest.raises(AccountPrivate):
        await provider.get_similar_accounts("private_jane")
    assert await simulator.requests_about("private_jane") == 3


async def test_two_server_errors_then_success_ends_with_the_data(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    await simulator.control("fail", {"username": "flaky.fit", "times": 2, "status": 500})
    profile = await provider.get_profile("flaky.fit")
    assert profile.username == "flaky.fit"
    stats = (await simulator.stats())["by_username"]["flaky.fit"]
    assert stats == {"total": 3, "500": 2, "200": 1}


async def test_retry_after_on_429_is_honoured(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    await simulator.control("fail", {"username": "busy.chef", "times": 1, "status": 429, "retry_after": 1})
    started = time.monotonic()
    profile = await provider.get_profile("busy.chef")
    assert profile.username == "busy.chef"
    # The backoff base is 10 ms, so only the Retry-After header explains a one second wait.
    assert time.monotonic() - started >= 0.95
    assert (await simulator.stats())["by_username"]["busy.chef"] == {"total": 2, "429": 1, "200": 1}


async def test_retry_after_is_capped_by_the_longest_backoff(simulator: RunningSimulator) -> None:
    await simulator.control("fail", {"username": "slow.down", "times": 1, "status": 429, "retry_after": 30})
    async with simulator.provider(backoff_max_s=0.1) as client:
        started = time.monotonic()
        await client.get_profile("slow.down")
    assert time.monotonic() - started < 2


async def test_the_simulator_rate_limit_slows_the_client_down_without_failing_it(
    start_simulator: StartSimulator,
) -> None:
    sim = await start_simulator(seed=42, rate_limit_per_minute=3, rate_limit_window_s=1)
    async with sim.provider(max_retries=5) as client:
        started = time.monotonic()
        profiles = [await client.get_profile(f"burst{number}") for number in range(5)]
    assert [profile.username for profile in profiles] == [f"burst{number}" for number in range(5)]
    assert time.monotonic() - started >= 0.9
    assert (await sim.stats())["by_endpoint"]["/ig_get_fb_profile.php"].get("429", 0) >= 1


async def test_rate_limited_until_retries_run_out(simulator: RunningSimulator) -> None:
    await simulator.control("fail", {"username": "hot.trip", "times": 5, "status": 429, "retry_after": 0})
    async with simulator.provider(max_retries=2) as client:
        with pytest.raises(ProviderRateLimited) as raised:
            await client.get_profile("hot.trip")
    assert raised.value.attempts == 3 and raised.value.transient


async def test_retries_exhausted_is_unavailable_with_attempts(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    before = calls("similar_accounts", "unavailable")
    await simulator.control("fail", {"username": "down.dev", "times": 10, "status": 503})
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.get_similar_accounts("down.dev")
    error = raised.value
    assert (error.attempts, error.last_status, error.transient) == (4, 503, True)
    assert "unavailable after 4 attempts (last: HTTP 503)" in str(error)
    assert await simulator.requests_about("down.dev") == 4
    assert calls("similar_accounts", "unavailable") == before + 1


async def test_a_502_html_page_is_retried_like_any_server_error(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    await simulator.control("fail", {"username": "gateway.glow", "times": 1, "status": 502})
    assert (await provider.get_profile("gateway.glow")).username == "gateway.glow"


async def test_a_slow_answer_times_out_and_is_retried(simulator: RunningSimulator) -> None:
    await simulator.control("fail", {"username": "sleepy.byte", "times": 1, "status": 200, "delay_ms": 1500})
    async with simulator.provider(timeout_s=0.3) as client:
        started = time.monotonic()
        profile = await client.get_profile("sleepy.byte")
    assert profile.username == "sleepy.byte"
    assert 0.3 <= time.monotonic() - started < 1.4


async def test_nothing_listening_is_unavailable_after_retries() -> None:
    client = InstagramProvider(
        scraper_base_url="http://127.0.0.1:9",
        transcript_base_url="http://127.0.0.1:9",
        api_key="k",
        max_retries=2,
        backoff_base_s=0.01,
    )
    async with client:
        with pytest.raises(ProviderUnavailable) as raised:
            await client.get_profile("anyone")
    assert raised.value.attempts == 3
    assert raised.value.last_status is None and "connection failed" in raised.value.last_reason


async def test_a_missing_api_key_is_rejected_without_retries(simulator: RunningSimulator) -> None:
    async with simulator.provider(api_key="") as client:
        with pytest.raises(ProviderRejected, match="not subscribed") as raised:
            await client.get_profile("keyless")
    assert raised.value.status == 403 and not raised.value.transient
    assert await simulator.requests_about("keyless") == 1


async def test_transcripts_are_text_for_speech_and_none_without(provider: InstagramProvider) -> None:
    name = account_with_reels(at_least=60)
    reels = await provider.get_reels(name, limit=60)
    records = {record.code: record for record in world.reels_of(42, name, int(NOW.timestamp()))}
    silent = next(reel for reel in reels if not records[reel.shortcode].has_speech)
    spoken = next(reel for reel in reels if records[reel.shortcode].has_speech and reel.caption)
    assert await provider.get_transcript(silent.url) is None
    text = await provider.get_transcript(spoken.url)
    assert text is not None and text.startswith(records[spoken.shortcode].hook)
    assert spoken.caption.startswith(records[spoken.shortcode].hook)
    assert await provider.get_transcript(spoken.shortcode) == text
    with pytest.raises(MediaNotFound):
        await provider.get_transcript("https://www.instagram.com/reel/nosuchreel/")


async def test_similar_accounts_in_every_envelope_the_simulator_uses(provider: InstagramProvider) -> None:
    wanted = {"list", "numeric_keys", "data_key"}
    for number in range(200):
        name = f"peer{number}"
        shape = world.similar_shape(42, name)
        if shape not in wanted:
            continue
        wanted.discard(shape)
        accounts = await provider.get_similar_accounts(name)
        expected = world.similar_to(42, name)
        assert [account.username for account in accounts] == [creator.username for creator in expected]
        for account, creator in zip(accounts, expected, strict=True):
            assert account.followers in (None, creator.followers)
            assert account.is_private in (None, creator.is_private)
        if not wanted:
            break
    assert not wanted


async def test_client_side_rate_limit_waits_without_blocking_the_loop() -> None:
    bucket = TokenBucket(per_minute=1200, burst=1)  # one token every 50 ms
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    await asyncio.gather(*(bucket.acquire() for _ in range(6)))
    elapsed = time.monotonic() - started
    ticker.cancel()
    assert 0.24 <= elapsed < 1.0
    assert ticks >= 10


async def test_from_env_reads_the_documented_variables() -> None:
    client = InstagramProvider.from_env(
        {
            "RAPIDAPI_KEY": "secret",
            "INSTAGRAM_SCRAPER_URL": "http://scraper:8100/",
            "PROVIDER_MAX_RETRIES": "2",
            "PROVIDER_RATE_LIMIT_PER_MINUTE": "30",
        }
    )
    assert client.scraper.base_url == "http://scraper:8100"
    assert client.transcripts.base_url == "http://scraper:8100"
    assert client.scraper.retry.max_retries == 2
    assert client.scraper.bucket.per_minute == 30
    await client.close()
