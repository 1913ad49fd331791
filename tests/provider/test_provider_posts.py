"""The client's posts: normalised like reels, paged past the grid's reels, with the same typed errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from infra.simulator.posts import CAROUSEL, grid_of, post_caption, posts_of
from libs.instagram import AccountNotFound, AccountPrivate, InstagramProvider, Post, ProviderBadResponse
from libs.instagram.normalise import parse_post, parse_posts_page
from tests.provider.provider_harness import NOW, RunningSimulator

NOW_TS = int(NOW.timestamp())
TAKEN_AT = 1_767_225_600  # 2026-01-01T00:00:00Z


def calls(outcome: str) -> float:
    labels = {"provider": "scraper", "endpoint": "posts", "outcome": outcome}
    return REGISTRY.get_sample_value("viralspot_provider_calls_total", labels) or 0.0


def account_with_posts(at_least: int = 0, at_most: int = 10_000) -> str:
    for number in range(10_000):
        name = f"creator{number}"
        if at_least <= len(posts_of(42, name, NOW_TS)) <= at_most:
            return name
    raise AssertionError("no such account in the simulated world")


async def test_posts_are_the_creators_images_and_carousels_newest_first(provider: InstagramProvider) -> None:
    posts = await provider.get_posts("https://www.instagram.com/FitWithMaya/", limit=30)
    expected = posts_of(42, "fitwithmaya", NOW_TS)[:30]
    assert len(posts) == 30
    assert [post.shortcode for post in posts] == [record.code for record in expected]
    for post, record in zip(posts, expected, strict=True):
        assert post.pk == str(record.pk)
        assert post.url == f"https://www.instagram.com/p/{record.code}/"
        assert post.post_type == ("carousel" if record.media_type == CAROUSEL else "image")
        assert post.carousel_count == record.carousel_count
        assert post.caption == post_caption(42, "fitwithmaya", record)
        assert post.like_count == (0 if record.likes_hidden else record.likes)
        assert post.comment_count == record.comments
        assert post.taken_at == datetime.fromtimestamp(record.taken_at, UTC)
        assert post.thumbnail_url is not None and record.code in post.thumbnail_url


async def test_posts_page_past_the_reels_on_the_grid_up_to_the_limit(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    name = account_with_posts(at_least=200)
    posts = await provider.get_posts(name, limit=120)
    assert len(posts) == len({post.pk for post in posts}) == 120
    grid = grid_of(42, name, NOW_TS)
    last = next(i for i, item in enumerate(grid) if item.code == posts[-1].shortcode)
    # Full pages of 50 whatever is left to fetch: the provider bills per request.
    assert await simulator.requests_about(name) == last // 50 + 1


async def test_posts_on_a_page_budget_take_what_the_pages_hold(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    name = account_with_posts(at_least=200)
    posts = await provider.get_posts(name, limit=50, max_pages=1)
    first_page = [
        item for item in grid_of(42, name, NOW_TS)[:50] if item.code in {p.shortcode for p in posts}
    ]
    assert 0 < len(posts) <= 50 and len(first_page) == len(posts)
    assert await simulator.requests_about(name) == 1


async def test_posts_stop_at_the_end_of_the_grid(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    name = account_with_posts(at_most=40)
    posts = await provider.get_posts(name, limit=200)
    assert [post.shortcode for post in posts] == [record.code for record in posts_of(42, name, NOW_TS)]
    assert await simulator.requests_about(name) == -(-len(grid_of(42, name, NOW_TS)) // 50)


async def test_a_missing_account_has_no_posts_and_a_private_one_shows_none(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    not_found, private = calls("not_found"), calls("private")
    with pytest.raises(AccountNotFound):
        await provider.get_posts("missing_someone")
    with pytest.raises(AccountPrivate, match="'private_jane' is private"):
        await provider.get_posts("private_jane")
    with pytest.raises(AccountNotFound):
        await provider.get_posts("not a name!")
    assert await simulator.requests_about("missing_someone") == 1
    assert await simulator.requests_about("private_jane") == 1
    assert (calls("not_found"), calls("private")) == (not_found + 1, private + 1)


async def test_server_errors_on_posts_are_retried_and_counted_once(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    ok = calls("ok")
    await simulator.control("fail", {"username": "flaky.chef", "times": 2, "status": 500})
    posts = await provider.get_posts("flaky.chef", limit=5)
    assert len(posts) == 5
    assert (await simulator.stats())["by_username"]["flaky.chef"] == {"total": 3, "500": 2, "200": 1}
    assert calls("ok") == ok + 1


async def test_no_posts_are_asked_for_a_limit_of_zero(
    provider: InstagramProvider, simulator: RunningSimulator
) -> None:
    assert await provider.get_posts("fitwithmaya", limit=0) == []
    assert await simulator.requests_about("fitwithmaya") == 0


Pages = Callable[[str | None], dict[str, Any]]


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Pages], Any]]:
    """A provider whose posts endpoint answers what the test scripts, by pagination token."""
    runners: list[web.AppRunner] = []

    async def start(pages: Pages) -> tuple[InstagramProvider, list[str | None]]:
        asked: list[str | None] = []

        async def answer(request: web.Request) -> web.Response:
            token = (await request.post()).get("pagination_token")
            asked.append(token if isinstance(token, str) else None)
            return web.json_response(pages(asked[-1]))

        app = web.Application()
        app.router.add_post("/get_ig_user_posts.php", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        url = f"http://{host}:{port}"
        return InstagramProvider(None, scraper_base_url=url, transcript_base_url=url, api_key="k"), asked

    yield start
    for runner in runners:
        await runner.cleanup()


def image(code: str) -> dict[str, Any]:
    return {"node": {"pk": code, "code": code, "taken_at": TAKEN_AT, "media_type": 1, "like_count": 3}}


def video(code: str) -> dict[str, Any]:
    return {"node": {"pk": code, "code": code, "taken_at": TAKEN_AT, "media_type": 2, "play_count": 9}}


async def test_a_page_of_only_reels_does_not_end_the_posts(scripted: Callable[[Pages], Any]) -> None:
    pages = {
        None: {"posts": [video("v1"), video("v2")], "pagination_token": "t1"},
        "t1": {"posts": [image("p1"), video("v3"), image("p2")], "pagination_token": None},
    }
    provider, asked = await scripted(lambda token: pages[token])
    async with provider:
        posts = await provider.get_posts("maya", limit=10)
    assert [post.shortcode for post in posts] == ["p1", "p2"]
    assert asked == [None, "t1"]


async def test_a_provider_going_round_in_circles_is_left_with_what_it_gave(
    scripted: Callable[[Pages], Any],
) -> None:
    pages = {
        None: {"posts": [image("p1")], "pagination_token": "a"},
        "a": {"posts": [image("p2"), image("p1")], "pagination_token": "b"},
        "b": {"posts": [image("p3")], "pagination_token": "a"},
    }
    provider, asked = await scripted(lambda token: pages[token])
    async with provider:
        posts = await provider.get_posts("maya", limit=10)
    assert [post.shortcode for post in posts] == ["p1", "p2", "p3"]
    assert asked == [None, "a", "b"]


def test_a_feed_page_reads_every_post_field() -> None:
    posts, token, items = parse_posts_page(
        {
            "posts": [
                {
                    "node": {
                        "pk": "3100_77",
                        "code": "Cimg",
                        "taken_at": TAKEN_AT,
                        "media_type": 1,
                        "like_count": "1,204",
                        "comment_count": 31,
                        "caption": {"text": "Sunday meal prep"},
                        "image_versions2": {"candidates": [{"url": "https://cdn/i.jpg", "width": 1080}]},
                    }
                },
                {
                    "node": {
                        "pk": 3200,
                        "code": "Ccar",
                        "taken_at": TAKEN_AT,
                        "media_type": 8,
                        "carousel_media_count": 4,
                        "caption": None,
                        "carousel_media": [
                            {"image_versions2": {"candidates": [{"url": "https://cdn/c0.jpg"}]}}
                        ],
                    }
                },
                video("Cvid"),
                "not a post",
            ],
            "pagination_token": "next",
        },
        "maya",
    )
    assert (token, items) == ("next", 4)
    assert posts == [
        Post(
            pk="3100",
            shortcode="Cimg",
            url="https://www.instagram.com/p/Cimg/",
            post_type="image",
            caption="Sunday meal prep",
            like_count=1204,
            comment_count=31,
            taken_at=datetime(2026, 1, 1, tzinfo=UTC),
            thumbnail_url="https://cdn/i.jpg",
        ),
        Post(
            pk="3200",
            shortcode="Ccar",
            url="https://www.instagram.com/p/Ccar/",
            post_type="carousel",
            carousel_count=4,
            taken_at=datetime(2026, 1, 1, tzinfo=UTC),
            thumbnail_url="https://cdn/c0.jpg",
        ),
    ]


@pytest.mark.parametrize(
    "media",
    [
        {"media_type": 2},
        {"media_type": "2"},
        {"is_video": True},
        {"product_type": "clips", "media_type": 8},
        {"__typename": "GraphVideo"},
    ],
)
def test_a_video_is_a_reel_and_never_a_post(media: dict[str, Any]) -> None:
    assert parse_post({"code": "C", "taken_at": TAKEN_AT, **media}) is None


def test_graphql_shaped_posts_are_read_too() -> None:
    post = parse_post(
        {
            "__typename": "GraphSidecar",
            "id": "41",
            "shortcode": "Cgql",
            "taken_at_timestamp": TAKEN_AT,
            "edge_media_preview_like": {"count": 88},
            "edge_media_to_parent_comment": {"count": 5},
            "edge_media_to_caption": {"edges": [{"node": {"text": "Three slides"}}]},
            "edge_sidecar_to_children": {"edges": [{}, {}, {}]},
            "display_url": "https://cdn/g.jpg",
        }
    )
    assert post is not None
    assert (post.post_type, post.carousel_count, post.like_count, post.comment_count) == (
        "carousel",
        3,
        88,
        5,
    )
    assert (post.caption, post.thumbnail_url, post.pk) == ("Three slides", "https://cdn/g.jpg", "41")


def read(**media: Any) -> Post:
    post = parse_post({"code": "C", "taken_at": TAKEN_AT, **media})
    assert post is not None
    return post


def test_a_carousel_without_a_count_counts_its_slides_and_a_post_without_type_is_an_image() -> None:
    assert read(carousel_media=[{}, {}]).carousel_count == 2
    assert read(media_type=8).carousel_count == 1
    assert read().post_type == "image"


def test_hidden_likes_read_as_zero() -> None:
    assert read(like_and_view_counts_disabled=True).like_count == 0


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"error": "User not found", "status": "fail"}, AccountNotFound),
        ({"error": "This account is private", "is_private": True, "status": "fail"}, AccountPrivate),
        ({"posts": {"0": "?"}}, ProviderBadResponse),
        ("<html>", ProviderBadResponse),
        ({"posts": [{"node": {"code": "C"}}]}, ProviderBadResponse),
        ({"posts": [{"node": {"taken_at": TAKEN_AT}}]}, ProviderBadResponse),
    ],
)
def test_error_objects_and_odd_shapes_are_typed_errors(payload: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_posts_page(payload, "maya")


def test_wrappers_and_bare_lists_are_unwrapped() -> None:
    wrapped = {"data": {"items": [image("p1")], "end_cursor": "c2"}}
    assert [post.shortcode for post in parse_posts_page(wrapped, "maya")[0]] == ["p1"]
    assert parse_posts_page(wrapped, "maya")[1] == "c2"
    assert parse_posts_page([image("p1")], "maya")[1:] == (None, 1)
    assert parse_posts_page({"posts": [], "pagination_token": ""}, "maya") == ([], None, 0)
