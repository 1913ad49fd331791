"""The simulator's world grows as its clock runs past `growth_from`: new reels, growing views, outliers."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from infra.simulator import SimulatorConfig, growth, world
from libs.instagram import Reel
from libs.scoring.stats import median_views
from tests.provider.provider_harness import NOW, RunningSimulator, StartSimulator

NOW_TS = int(NOW.timestamp())
DAY = timedelta(days=1)
HEADERS = {"x-rapidapi-key": "k", "x-rapidapi-host": "instagram-scraper-stable-api"}
REPOSITORY = Path(__file__).resolve().parents[2]
CREATORS = [f"creator{n}" for n in range(100)]


async def reels_at(sim: RunningSimulator, username: str, now: Any, limit: int = 200) -> list[Reel]:
    await sim.control("config", {"now": now.isoformat()})
    async with sim.provider() as client:
        return await client.get_reels(username, limit=limit)


async def raw(sim: RunningSimulator, path: str, **fields: str) -> Any:
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        if path == "/get_media_data.php":
            request = session.get(f"{sim.base_url}{path}", params=fields)
        else:
            request = session.post(f"{sim.base_url}{path}", data=fields)
        async with request as response:
            assert response.status == 200
            return await response.json()


async def test_new_reels_appear_at_the_top_and_the_old_ones_keep_their_ids(
    start_simulator: StartSimulator,
) -> None:
    sim = await start_simulator(seed=42, growth_from=NOW)
    before = await reels_at(sim, "fitwithmaya", NOW)
    after = await reels_at(sim, "fitwithmaya", NOW + 3 * DAY)
    new, old = after[: len(after) - len(before)], after[len(after) - len(before) :]
    assert len(new) >= 1
    assert [(r.pk, r.shortcode, r.caption, r.taken_at) for r in old] == [
        (r.pk, r.shortcode, r.caption, r.taken_at) for r in before
    ]
    assert not {r.shortcode for r in new} & {r.shortcode for r in before}
    assert not {r.pk for r in new} & {r.pk for r in before}
    assert all(NOW < r.taken_at <= NOW + 3 * DAY for r in new)
    assert [r.taken_at for r in after] == sorted((r.taken_at for r in after), reverse=True)
    async with sim.provider() as client:
        assert (await client.get_media(new[0].shortcode)).view_count == new[0].view_count
    await sim.control("config", {"now": NOW.isoformat()})
    media = await raw(sim, "/get_media_data.php", reel_post_code_or_url=new[0].shortcode, type="reel")
    assert media["error"] == "Media not found", "a reel posted after `now` does not exist yet"


async def test_a_young_reel_keeps_gaining_views_and_an_old_one_barely(
    start_simulator: StartSimulator,
) -> None:
    sim = await start_simulator(seed=42, growth_from=NOW)
    first = await reels_at(sim, "fitwithmaya", NOW + DAY)
    later = {r.shortcode: r for r in await reels_at(sim, "fitwithmaya", NOW + 6 * DAY)}
    young = [r for r in first if r.taken_at > NOW and r.view_count]
    assert young, "fitwithmaya posts within a day of the anchor"
    for reel in young:
        grown = later[reel.shortcode]
        assert (grown.pk, grown.caption, grown.taken_at) == (reel.pk, reel.caption, reel.taken_at)
        assert grown.view_count is not None and reel.view_count is not None
        assert grown.view_count >= 1.5 * reel.view_count
        assert grown.like_count > reel.like_count
    # The anchor's own reels were drawn full-grown, so even the newest only gains a tail.
    just_before = [r for r in first if NOW - 2 * DAY < r.taken_at <= NOW and r.view_count]
    assert just_before
    for reel in just_before:
        grown_views = later[reel.shortcode].view_count
        assert grown_views is not None and reel.view_count is not None
        assert reel.view_count < grown_views <= reel.view_count * 1.25
    old = [r for r in first if r.taken_at < NOW - 20 * DAY and r.view_count]
    assert len(old) > 10
    for reel in old:
        grown_views = later[reel.shortcode].view_count
        assert grown_views is not None and reel.view_count is not None
        assert reel.view_count <= grown_views <= reel.view_count * 1.005


async def test_two_simulators_agree_on_a_grown_world(start_simulator: StartSimulator) -> None:
    sims = [await start_simulator(seed=42, growth_from=NOW) for _ in range(2)]
    # One went there straight, the other by way of an earlier time: the path must not matter.
    await reels_at(sims[1], "chef_leo", NOW + 2 * DAY)
    answers = [await reels_at(sim, "chef_leo", NOW + 4 * DAY) for sim in sims]
    assert answers[0] == answers[1]
    other = await start_simulator(seed=42, growth_from=NOW + DAY)
    assert await reels_at(other, "chef_leo", NOW + 4 * DAY) != answers[0]


def test_another_process_draws_the_same_grown_world() -> None:
    script = (
        "from infra.simulator.growth import reels_at; "
        f"print(repr(reels_at(7, 'someone', {NOW_TS + 9 * 86_400}, {NOW_TS})))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPOSITORY
    )
    assert run.stdout.strip() == repr(growth.reels_at(7, "someone", NOW_TS + 9 * 86_400, NOW_TS))


async def test_a_reel_crosses_the_outlier_line_between_two_fetches(start_simulator: StartSimulator) -> None:
    before_ts, after_ts = NOW_TS + 86_400, NOW_TS + 5 * 86_400
    found = growth.find_outlier_crossing(42, CREATORS, NOW_TS, before_ts, after_ts, threshold=3.0)
    assert found is not None
    username, code = found
    sim = await start_simulator(seed=42, growth_from=NOW)
    scores = []
    for when in (NOW + DAY, NOW + 5 * DAY):
        reels = await reels_at(sim, username, when, limit=100)
        reel = next(r for r in reels if r.shortcode == code)
        assert reel.view_count is not None
        scores.append(reel.view_count / median_views(r.view_count for r in reels))
    assert scores[0] < 3.0 <= scores[1]
    assert growth.reel_views_at(42, username, code, after_ts, NOW_TS) == reel.view_count


def test_new_reels_hold_a_few_outliers_and_old_reels_keep_their_views_at_the_anchor() -> None:
    new_reels, outliers = 0, 0
    for name in CREATORS[:40]:
        grown = growth.reels_at(42, name, NOW_TS + 60 * 86_400, NOW_TS)
        scores = growth.outlier_scores(grown, limit=None)
        fresh = [r for r in grown if r.taken_at > NOW_TS and r.views]
        new_reels += len(fresh)
        outliers += sum(1 for r in fresh if scores[r.code] >= 3.0)
        assert growth.reels_at(42, name, NOW_TS, NOW_TS) == world.reels_of(42, name, NOW_TS)
    assert new_reels > 400
    assert 0.03 <= outliers / new_reels <= 0.15


def test_before_the_anchor_the_reels_not_posted_yet_are_missing() -> None:
    anchored = growth.reels_at(42, "fitwithmaya", NOW_TS, NOW_TS)
    earlier = growth.reels_at(42, "fitwithmaya", NOW_TS - 10 * 86_400, NOW_TS)
    assert [r.code for r in earlier] == [r.code for r in anchored if r.taken_at <= NOW_TS - 10 * 86_400]
    assert 0 < len(earlier) < len(anchored)


async def test_without_growth_the_answers_are_todays(start_simulator: StartSimulator) -> None:
    plain = await start_simulator(seed=42)
    anchored = await start_simulator(seed=42, growth_from=NOW)
    for path in ("/get_ig_user_reels.php", "/get_ig_user_posts.php"):
        form = {"username_or_url": "money.kim", "amount": "100"}
        assert await raw(plain, path, **form) == await raw(anchored, path, **form)
    later = NOW + 3 * DAY
    shifted = await reels_at(plain, "money.kim", later)
    expected = world.reels_of(42, "money.kim", int(later.timestamp()))
    assert [(r.shortcode, r.view_count, int(r.taken_at.timestamp())) for r in shifted] == [
        (r.code, r.views, r.taken_at) for r in expected
    ]
    assert await reels_at(anchored, "money.kim", later) != shifted
    await anchored.control("config", {"growth_from": None})
    assert await reels_at(anchored, "money.kim", later) == shifted


async def test_the_grid_keeps_its_posts_and_shows_new_shared_reels(start_simulator: StartSimulator) -> None:
    sim = await start_simulator(seed=42, growth_from=NOW)
    form = {"username_or_url": "fitwithmaya", "amount": "100"}
    await sim.control("config", {"now": NOW.isoformat()})
    at_anchor = [item["node"] for item in (await raw(sim, "/get_ig_user_posts.php", **form))["posts"]]
    await sim.control("config", {"now": (NOW + 90 * DAY).isoformat()})
    later = [item["node"] for item in (await raw(sim, "/get_ig_user_posts.php", **form))["posts"]]
    reels = {r.code: r for r in growth.reels_at(42, "fitwithmaya", NOW_TS + 90 * 86_400, NOW_TS)}
    shared = [node for node in later if node["media_type"] == 2]
    assert any(node["taken_at"] > NOW_TS for node in shared)
    assert all(
        node["play_count" if "play_count" in node else "ig_play_count"] == reels[node["code"]].views
        for node in shared
    )
    old_posts = {node["code"]: node["taken_at"] for node in at_anchor if node["media_type"] != 2}
    still = {node["code"]: node["taken_at"] for node in later if node["code"] in old_posts}
    assert still and all(old_posts[code] == taken_at for code, taken_at in still.items())


async def test_growth_from_is_a_switch_of_the_config(simulator: RunningSimulator) -> None:
    answer = await simulator.control("config", {"growth_from": "2026-03-01T00:00:00Z"})
    assert answer["config"]["growth_from"] == NOW.isoformat()
    async with aiohttp.ClientSession() as session:
        body = {"growth_from": "yesterday"}
        async with session.post(f"{simulator.base_url}/__sim/config", json=body) as response:
            assert response.status == 400
    assert (await simulator.control("reset"))["config"]["growth_from"] is None
    assert SimulatorConfig.from_env({"SIM_GROWTH_FROM": "2026-03-01"}).growth_from_ts() == NOW_TS
    assert SimulatorConfig.from_env({}).growth_from_ts() is None
