"""The simulator's posts endpoint: the provider's shape and paging, a plausible grid, the same failures."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from infra.simulator import world
from infra.simulator.posts import CAROUSEL, IMAGE, grid_of, post_caption, posts_of
from tests.provider.provider_harness import NOW, RunningSimulator

NOW_TS = int(NOW.timestamp())
HEADERS = {"x-rapidapi-key": "k", "x-rapidapi-host": "instagram-scraper-stable-api"}
POSTS = "/get_ig_user_posts.php"
REPOSITORY = Path(__file__).resolve().parents[2]


async def posts_page(sim: RunningSimulator, form: dict[str, str]) -> tuple[int, Any]:
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        async with session.post(f"{sim.base_url}{POSTS}", data=form) as response:
            return response.status, await response.json()


async def test_posts_pages_follow_the_provider_shape_to_the_end_of_the_grid(
    simulator: RunningSimulator,
) -> None:
    name = "fitwithmaya"
    form = {"username_or_url": f"https://www.instagram.com/{name}/", "amount": "40"}
    nodes: list[dict[str, Any]] = []
    pages = 0
    while True:
        status, page = await posts_page(simulator, form)
        assert status == 200 and set(page) == {"posts", "pagination_token"}
        assert 0 < len(page["posts"]) <= 40
        nodes += [item["node"] for item in page["posts"]]
        pages += 1
        if page["pagination_token"] is None:
            break
        form["pagination_token"] = page["pagination_token"]
    grid = grid_of(42, name, NOW_TS)
    assert len(nodes) == len(grid) and pages == -(-len(grid) // 40)
    assert [node["code"] for node in nodes] == [item.code for item in grid]
    assert len({node["code"] for node in nodes}) == len(nodes)
    assert [node["taken_at"] for node in nodes] == sorted((node["taken_at"] for node in nodes), reverse=True)
    who = world.creator(42, name)
    posts = [node for node in nodes if node["media_type"] in (IMAGE, CAROUSEL)]
    assert len(posts) == who.posts_count - who.reel_count
    for node in posts:
        assert {"pk", "code", "taken_at", "comment_count", "caption", "image_versions2"} <= set(node)
        assert node["image_versions2"]["candidates"][0]["url"].startswith("https://")
        assert "like_count" in node or node["like_and_view_counts_disabled"] is True
        if node["media_type"] == CAROUSEL:
            assert 2 <= node["carousel_media_count"] == len(node["carousel_media"]) <= 10
        else:
            assert "carousel_media_count" not in node


async def test_reels_on_the_grid_keep_their_reel_shape(simulator: RunningSimulator) -> None:
    status, page = await posts_page(simulator, {"username_or_url": "fitwithmaya", "amount": "100"})
    assert status == 200
    reels = {reel.code: reel for reel in world.reels_of(42, "fitwithmaya", NOW_TS)}
    videos = [item["node"] for item in page["posts"] if item["node"]["media_type"] == 2]
    assert videos, "the grid shows some of the creator's reels"
    for node in videos:
        assert node["product_type"] == "clips" and node["code"] in reels
        assert node["like_count"] == reels[node["code"]].likes


async def test_a_bad_amount_or_token_is_refused(simulator: RunningSimulator) -> None:
    for form in (
        {"username_or_url": "fitwithmaya", "amount": "x"},
        {"username_or_url": "fitwithmaya", "pagination_token": "bm9wZQ=="},
    ):
        status, body = await posts_page(simulator, form)
        assert (status, body) == (400, {"error": "Invalid amount or pagination_token"})


async def test_missing_and_private_accounts_answer_the_reels_error_objects(
    simulator: RunningSimulator,
) -> None:
    assert await posts_page(simulator, {"username_or_url": "missing_x"}) == (
        200,
        {"error": "User not found", "status": "fail"},
    )
    assert await posts_page(simulator, {"username_or_url": "private_x"}) == (
        200,
        {"error": "This account is private", "is_private": True, "status": "fail"},
    )


async def test_posts_requests_obey_failure_plans_and_latency_and_are_counted(
    simulator: RunningSimulator,
) -> None:
    await simulator.control("fail", {"username": "chef_leo", "times": 1, "status": 503})
    statuses = [(await posts_page(simulator, {"username_or_url": "chef_leo"}))[0] for _ in range(2)]
    assert statuses == [503, 200]
    await simulator.control("config", {"latency_ms": 200})
    started = time.monotonic()
    assert (await posts_page(simulator, {"username_or_url": "chef_leo"}))[0] == 200
    assert time.monotonic() - started >= 0.2
    stats = await simulator.stats()
    assert stats["by_endpoint"][POSTS] == {"total": 3, "503": 1, "200": 2}
    assert stats["by_username"]["chef_leo"]["total"] == 3


async def test_media_and_transcripts_of_a_post_code_are_not_found(simulator: RunningSimulator) -> None:
    post = posts_of(42, "fitwithmaya", NOW_TS)[0]
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        params = {"reel_post_code_or_url": post.code, "type": "reel"}
        async with session.get(f"{simulator.base_url}/get_media_data.php", params=params) as response:
            assert (await response.json())["error"] == "Media not found"
        params = {"url": f"https://www.instagram.com/p/{post.code}/"}
        async with session.get(f"{simulator.base_url}/transcript", params=params) as response:
            assert response.status == 404


def test_another_process_draws_the_same_posts_and_the_reels_are_untouched() -> None:
    reels_before = world.reels_of(7, "someone", NOW_TS)
    first = posts_of(7, "someone", NOW_TS)
    script = (
        "import sys; from infra.simulator.posts import posts_of, post_caption; "
        f"posts = posts_of(7, 'someone', {NOW_TS}); "
        "print(repr([(p, post_caption(7, 'someone', p)) for p in posts]))"
    )
    other = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPOSITORY
    )
    assert other.stdout.strip() == repr([(p, post_caption(7, "someone", p)) for p in first])
    assert world.reels_of(7, "someone", NOW_TS) == reels_before
    assert posts_of(8, "someone", NOW_TS) != first
    later = posts_of(7, "someone", NOW_TS + 86_400)
    assert [p.taken_at - q.taken_at for p, q in zip(later, first, strict=True)] == [86_400] * len(first)


def test_a_grid_looks_like_instagram() -> None:
    names = [f"creator{n}" for n in range(60)]
    outlier_shares, carousel_shares, hidden, total = [], [], 0, 0
    for name in names:
        who = world.creator(42, name)
        posts = posts_of(42, name, NOW_TS)
        assert len(posts) == who.posts_count - who.reel_count and 10 <= len(posts) <= 600
        assert NOW_TS - 3 * 86_400 <= posts[0].taken_at <= NOW_TS
        assert [p.taken_at for p in posts] == sorted((p.taken_at for p in posts), reverse=True)
        typical = statistics.median(p.likes for p in posts if not p.is_outlier)
        assert 0.003 * who.followers <= typical <= 0.3 * who.followers
        outliers = [p for p in posts if p.is_outlier]
        assert all(p.likes >= 2 * typical for p in outliers)
        outlier_shares.append(len(outliers) / len(posts))
        carousel_shares.append(sum(p.media_type == CAROUSEL for p in posts) / len(posts))
        hidden += sum(p.likes_hidden for p in posts)
        total += len(posts)
        captions = [post_caption(42, name, post) for post in posts[:60]]
        assert all(_in_the_niches_words(caption, who) for caption in captions if caption)
    assert 0.03 <= statistics.mean(outlier_shares) <= 0.11
    assert 0.2 <= statistics.mean(carousel_shares) <= 0.7
    assert 0 < hidden / total < 0.05


def _in_the_niches_words(caption: str, who: world.Creator) -> bool:
    tags = [word for word in caption.split() if word.startswith("#")]
    return 3 <= len(tags) <= 5 and set(tags) <= set(who.niche.hashtags)
