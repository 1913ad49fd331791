"""GET /api/reels, /api/posts and /api/filter-options through the real gateway, over read-model rows
seeded straight into readmodel (tests/support/feed_rows.py); and the profile reels' new sort."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from services.gateway.domain.feed import Shuffle
from tests.support.feed_rows import NOW, Creator, Item, insert_creators, insert_items, seed, varied_set

CREATORS, ITEMS = varied_set()
REELS = [i for i in ITEMS if i.post_type == "reel"]
POSTS = [i for i in ITEMS if i.post_type != "reel"]


@pytest.fixture
async def feed(pool: asyncpg.Pool) -> None:
    await seed(pool, CREATORS, ITEMS)


async def page(api: TestClient, path: str, params: list[tuple[str, str]]) -> dict[str, Any]:
    resp = await api.get(path, params=params)
    body = await resp.json()
    assert resp.status == 200, body
    return body["data"]


async def walk(
    api: TestClient, params: list[tuple[str, str]], path: str = "/api/reels", limit: int = 7
) -> list[str]:
    """Every content_id of the feed, page after page by cursor."""
    kind = path.rsplit("/", 1)[1]
    seen, cursor = [], None
    while True:
        data = await page(
            api, path, [*params, ("limit", str(limit)), *([("cursor", cursor)] if cursor else [])]
        )
        seen += [item["content_id"] for item in data[kind]]
        assert data["isLastPage"] is (data["next_cursor"] is None)
        if data["isLastPage"]:
            return seen
        assert len(data[kind]) == limit
        cursor = data["next_cursor"]


async def walk_by_offset(api: TestClient, params: list[tuple[str, str]], limit: int = 9) -> list[str]:
    seen: list[str] = []
    while True:
        data = await page(api, "/api/reels", [*params, ("limit", str(limit)), ("offset", str(len(seen)))])
        seen += [item["content_id"] for item in data["reels"]]
        if data["isLastPage"]:
            return seen


def ordered(items: list[Item], key: Callable[[Item], Any], descending: bool = True) -> list[str]:
    """The feed's order: the key, then content_id, both in the sort's direction; items without a key last."""
    keyed = sorted(
        (i for i in items if key(i) is not None), key=lambda i: (key(i), i.content_id), reverse=descending
    )
    keyless = sorted((i for i in items if key(i) is None), key=lambda i: i.content_id, reverse=descending)
    return [i.content_id for i in keyed + keyless]


def ids(items: list[Item]) -> set[str]:
    return {i.content_id for i in items}


def words(i: Item) -> set[str]:
    return set(f"{i.description} {i.transcript}".split())


def within(days: int) -> Callable[[Item], bool]:
    return lambda i: i.date_posted is not None and i.date_posted >= NOW - timedelta(days=days)


def between(value: float | None, low: float, high: float) -> bool:
    return value is not None and low <= value <= high


FILTERS: list[tuple[list[tuple[str, str]], Callable[[Item], bool]]] = [
    ([("search", "protein")], lambda i: "protein" in words(i)),
    ([("search", "quick secret")], lambda i: {"quick", "secret"} <= words(i)),
    (
        [("primary_categories", "fitness,cooking")],
        lambda i: i.creator.primary_category in ("fitness", "cooking"),
    ),
    (
        [("primary_categories", "fitness"), ("primary_categories", "finance")],
        lambda i: i.creator.primary_category in ("fitness", "finance"),
    ),
    ([("secondary_categories", "beauty")], lambda i: i.creator.secondary_category == "beauty"),
    (
        [("tertiary_categories", "parenting,travel")],
        lambda i: i.creator.tertiary_category in ("parenting", "travel"),
    ),
    ([("keywords", "workout,coding")], lambda i: bool({"workout", "coding"} & set(i.keywords))),
    ([("min_outlier_score", "2.5")], lambda i: i.outlier_score >= 2.5),
    ([("max_outlier_score", "1")], lambda i: i.outlier_score <= 1),
    ([("min_views", "1000"), ("max_views", "12000")], lambda i: between(i.view_count, 1_000, 12_000)),
    ([("min_likes", "100")], lambda i: i.like_count >= 100),
    ([("max_likes", "50")], lambda i: i.like_count <= 50),
    ([("min_comments", "10"), ("max_comments", "10")], lambda i: i.comment_count == 10),
    ([("min_followers", "20000")], lambda i: between(i.creator.followers, 20_000, 2**63)),
    ([("max_followers", "5000")], lambda i: between(i.creator.followers, 0, 5_000)),
    ([("date_range", "last_7_days")], within(7)),
    ([("date_range", "last_30_days")], within(30)),
    ([("date_range", "last_90_days")], within(90)),
    ([("date_range", "last_year")], within(365)),
    ([("is_verified", "true")], lambda i: i.creator.verified),
    ([("is_verified", "false")], lambda i: not i.creator.verified),
    ([("account_types", "business")], lambda i: i.creator.account_type == "business"),
    ([("content_types", "reel")], lambda i: True),
    ([("languages", "en,es")], lambda i: i.language in ("en", "es")),
    (
        [("content_styles", "list"), ("content_styles", "story")],
        lambda i: i.content_style in ("list", "story"),
    ),
    (
        [("min_account_engagement_rate", "3"), ("max_account_engagement_rate", "5")],
        lambda i: between(i.creator.engagement_rate, 3, 5),
    ),
    (
        [("excluded_usernames", "creator_00,@Creator_01")],
        lambda i: i.creator.username not in ("creator_00", "creator_01"),
    ),
    (
        [("primary_categories", "fitness,finance"), ("languages", "en"), ("min_likes", "50")],
        lambda i: (
            i.creator.primary_category in ("fitness", "finance") and i.language == "en" and i.like_count >= 50
        ),
    ),
]


@pytest.mark.parametrize(("params", "keeps"), FILTERS, ids=[str(p) for p, _ in FILTERS])
async def test_every_filter_keeps_exactly_the_reels_it_names(
    api: TestClient, feed: None, params: list[tuple[str, str]], keeps: Callable[[Item], bool]
) -> None:
    expected = ids([i for i in REELS if keeps(i)])
    assert expected, "the seeded set must hold reels the filter keeps"
    assert expected != ids(REELS) or params == [("content_types", "reel")], "and reels it leaves out"
    found = await walk(api, params, limit=25)
    assert len(found) == len(set(found)) and set(found) == expected


def niche(item: Item) -> float | None:
    bucket = [
        r.view_count
        for r in REELS
        if r.category == item.category and _month(r) == _month(item) and r.view_count is not None
    ]
    if item.view_count is None or item.category is None or _month(item) is None or not bucket:
        return None
    median = _median(bucket)
    return item.view_count / median if median > 0 else None


def _month(item: Item) -> tuple[int, int] | None:
    return (item.date_posted.year, item.date_posted.month) if item.date_posted is not None else None


def _median(values: list[int]) -> float:
    ordered_values, middle = sorted(values), len(values) // 2
    if len(values) % 2:
        return float(ordered_values[middle])
    return (ordered_values[middle - 1] + ordered_values[middle]) / 2


SORTS: dict[str, tuple[Callable[[Item], Any], bool]] = {
    "popular": (lambda i: i.outlier_score, True),
    "views": (lambda i: i.view_count, True),
    "likes": (lambda i: i.like_count, True),
    "comments": (lambda i: i.comment_count, True),
    "recent": (lambda i: i.date_posted, True),
    "oldest": (lambda i: i.date_posted, False),
    "followers": (lambda i: i.creator.followers, True),
    "account_engagement": (lambda i: i.creator.engagement_rate, True),
    "content_engagement": (lambda i: i.engagement_rate, True),
    "niche_outlier": (niche, True),
}


@pytest.mark.parametrize("sort_by", SORTS)
async def test_every_sort_orders_the_whole_feed(api: TestClient, feed: None, sort_by: str) -> None:
    key, descending = SORTS[sort_by]
    assert await walk(api, [("sort_by", sort_by)]) == ordered(REELS, key, descending)


async def test_the_default_sort_is_popular(api: TestClient, feed: None) -> None:
    assert await walk(api, []) == ordered(REELS, SORTS["popular"][0])


@pytest.mark.parametrize("sort_by", ["popular", "views", "oldest", "niche_outlier"])
async def test_pages_by_offset_and_by_cursor_neither_repeat_nor_skip_a_reel(
    api: TestClient, feed: None, sort_by: str
) -> None:
    key, descending = SORTS[sort_by]
    everything = ordered(REELS, key, descending)
    assert await walk(api, [("sort_by", sort_by)], limit=9) == everything
    assert await walk_by_offset(api, [("sort_by", sort_by)], limit=9) == everything


async def test_an_offset_counts_on_from_the_cursor(api: TestClient, feed: None) -> None:
    everything = ordered(REELS, SORTS["likes"][0])
    first = await page(api, "/api/reels", [("sort_by", "likes"), ("limit", "10")])
    after = await page(
        api,
        "/api/reels",
        [("sort_by", "likes"), ("limit", "5"), ("offset", "3"), ("cursor", first["next_cursor"])],
    )
    assert [r["content_id"] for r in after["reels"]] == everything[13:18]


async def test_random_order_is_stable_in_a_session_and_differs_across_sessions(
    api: TestClient, feed: None, pool: asyncpg.Pool
) -> None:
    first = await walk(api, [("random_order", "true"), ("session_id", "session-a")])
    again = await walk(api, [("random_order", "true"), ("session_id", "session-a")], limit=11)
    other = await walk(api, [("random_order", "true"), ("session_id", "session-b")])
    assert first == again and len(first) == len(set(first)) and set(first) == ids(REELS)
    assert set(other) == ids(REELS) and other != first
    # The order is the shuffle keys' from the session's start point, round the end.
    keys = dict(
        await pool.fetch("SELECT content_id, shuffle_key FROM readmodel.content WHERE post_type = 'reel'")
    )
    assert first == shuffled(list(keys), keys, Shuffle.of_session("session-a"))
    assert other == shuffled(list(keys), keys, Shuffle.of_session("session-b"))


def shuffled(content_ids: list[str], keys: dict[str, int], shuffle: Shuffle) -> list[str]:
    def walked(part: list[str]) -> list[str]:
        return sorted(part, key=lambda i: (keys[i], i), reverse=shuffle.descending)

    if shuffle.descending:
        from_start = [i for i in content_ids if keys[i] <= shuffle.start]
    else:
        from_start = [i for i in content_ids if keys[i] >= shuffle.start]
    return walked(from_start) + walked([i for i in content_ids if i not in from_start])


async def test_random_order_filters_as_the_sorted_feed(api: TestClient, feed: None) -> None:
    found = await walk(api, [("random_order", "true"), ("session_id", "s"), ("languages", "en")])
    assert sorted(found) == sorted(i.content_id for i in REELS if i.language == "en")


@pytest.mark.parametrize(
    "params",
    [
        [("sort_by", "bogus")],
        [("min_views", "abc")],
        [("min_views", "-1")],
        [("max_outlier_score", "nan")],
        [("limit", "0")],
        [("limit", "101")],
        [("offset", "100001")],
        [("primary_categories", ",".join(["fitness"] * 51))],
        [("primary_categories", "fitness")] * 26 + [("primary_categories", "cooking,travel")] * 13,
        [("primary_categories", "knitting")],
        [("languages", "xx")],
        [("keywords", "")],
        [("excluded_usernames", "not valid!")],
        [("search", "s" * 201)],
        [("date_range", "yesterday")],
        [("is_verified", "yes")],
        [("random_order", "true")],
        [("random_order", "true"), ("session_id", " ")],
        [("content_types", "image")],
        [("limit", "5"), ("limit", "6")],
    ],
    ids=lambda p: str(p)[:60],
)
async def test_bad_parameters_are_400_with_the_error_envelope(
    api: TestClient, feed: None, params: list[tuple[str, str]]
) -> None:
    resp = await api.get("/api/reels", params=params)
    body = await resp.json()
    assert resp.status == 400 and body["success"] is False and body["error_code"] == "INVALID_PARAMETER"
    assert body["timestamp"].endswith("Z") and body["detail"]


async def test_a_cursor_of_another_query_is_refused(api: TestClient, feed: None) -> None:
    cursor = (await page(api, "/api/reels", [("sort_by", "likes"), ("limit", "5")]))["next_cursor"]
    shuffled = (
        await page(api, "/api/reels", [("random_order", "true"), ("session_id", "a"), ("limit", "5")])
    )["next_cursor"]
    foreign = [
        [("sort_by", "comments"), ("cursor", cursor)],
        [("sort_by", "likes"), ("languages", "en"), ("cursor", cursor)],
        [("random_order", "true"), ("session_id", "b"), ("cursor", shuffled)],
        [("sort_by", "likes"), ("cursor", cursor[:-3])],
        [("sort_by", "likes"), ("cursor", "not-a-cursor")],
    ]
    for params in foreign:
        resp = await api.get("/api/reels", params=params)
        body = await resp.json()
        assert resp.status == 400 and body["error_code"] == "INVALID_CURSOR", params
    resp = await api.get("/api/posts", params=[("sort_by", "likes"), ("cursor", cursor)])
    assert resp.status == 400 and (await resp.json())["error_code"] == "INVALID_CURSOR"


async def test_posts_and_reels_are_apart(api: TestClient, feed: None) -> None:
    assert set(await walk(api, [], path="/api/posts")) == ids(POSTS)
    assert set(await walk(api, [("content_types", "carousel")], path="/api/posts")) == ids(
        [p for p in POSTS if p.post_type == "carousel"]
    )
    posts = await walk(api, [("sort_by", "likes")], path="/api/posts")
    assert posts == ordered(POSTS, SORTS["likes"][0])
    data = await page(api, "/api/posts", [("limit", "100")])
    assert {p["post_type"] for p in data["posts"]} == {"image", "carousel"}
    assert all(p["view_count"] is None and p["niche_outlier_score"] is None for p in data["posts"])
    assert all((p["carousel_count"] is not None) == (p["post_type"] == "carousel") for p in data["posts"])
    for params in (
        [("sort_by", "views")],
        [("sort_by", "niche_outlier")],
        [("min_views", "1")],
        [("content_types", "reel")],
    ):
        resp = await api.get("/api/posts", params=params)
        assert resp.status == 400 and (await resp.json())["error_code"] == "INVALID_PARAMETER", params


async def test_a_reel_carries_its_scores_and_its_creator(api: TestClient, pool: asyncpg.Pool) -> None:
    maya = Creator(
        "maya", "fitness", "health", "cooking", 52_000, True, "business", 4.5, 30, "Maya", "https://img/m"
    )
    small = Creator("newbie", "fitness", reels=2)
    posted = NOW.replace(day=15) - timedelta(days=40)
    crowd = [Item(f"9{n:03d}", maya, view_count=1_000 + n, date_posted=posted) for n in range(60)]
    star = Item(
        "8000", maya, view_count=10_000, date_posted=posted, keywords=["squats"], thumbnail_url="https://t/1"
    )
    newcomer = Item("8001", small, view_count=2_000, date_posted=posted)
    uncategorised = Item("8002", maya, category=None)
    await seed(pool, [maya, small], [*crowd, star, newcomer, uncategorised])
    data = await page(api, "/api/reels", [("sort_by", "niche_outlier"), ("limit", "3")])
    median = _median([r.view_count for r in [*crowd, star, newcomer]])  # type: ignore[misc]
    top = data["reels"][0]
    assert [r["content_id"] for r in data["reels"]] == ["8000", "8001", "9059"]
    assert top["niche_outlier_score"] == round(10_000 / median, 2)  # rounded as outlier_score is
    assert top["score_confidence"] == "high" and data["reels"][1]["score_confidence"] == "low"
    assert top["primary_category"] == "fitness" and top["secondary_category"] == "health"
    assert (
        top["tertiary_category"] == "cooking"
        and top["category"] == "fitness"
        and top["keywords"] == ["squats"]
    )
    assert top["thumbnail_url"] == "https://t/1" and top["post_type"] == "reel"
    assert top["creator"] == {
        "username": "maya",
        "profile_name": "Maya",
        "followers": 52_000,
        "is_verified": True,
        "account_type": "business",
        "profile_image_url": "https://img/m",
    }
    last = (await page(api, "/api/reels", [("sort_by", "niche_outlier"), ("limit", "1"), ("offset", "62")]))[
        "reels"
    ]
    assert last[0]["content_id"] == "8002" and last[0]["niche_outlier_score"] is None
    assert last[0]["score_confidence"] is None


async def test_filter_options_count_the_items_carrying_each_value(api: TestClient, feed: None) -> None:
    for content, items in (("reels", REELS), ("posts", POSTS)):
        resp = await api.get("/api/filter-options", params={"content": content} if content == "posts" else {})
        options = (await resp.json())["data"]
        assert resp.status == 200
        facets = {
            "primary_categories": lambda i: [i.creator.primary_category],
            "secondary_categories": lambda i: [i.creator.secondary_category],
            "tertiary_categories": lambda i: [i.creator.tertiary_category],
            "categories": lambda i: [i.category],
            "keywords": lambda i: i.keywords,
            "languages": lambda i: [i.language],
            "content_styles": lambda i: [i.content_style],
            "account_types": lambda i: [i.creator.account_type],
        }
        assert set(options) == set(facets)
        for name, values_of in facets.items():
            counts: dict[str, int] = {}
            for item in items:
                for value in values_of(item):  # type: ignore[no-untyped-call]
                    if value is not None:
                        counts[value] = counts.get(value, 0) + 1
            expected = [
                {"name": v, "count": n} for v, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
            assert options[name] == expected, name
    resp = await api.get("/api/filter-options", params={"content": "stories"})
    assert resp.status == 400 and (await resp.json())["error_code"] == "INVALID_PARAMETER"


async def test_filter_options_leave_out_values_no_item_carries(api: TestClient, pool: asyncpg.Pool) -> None:
    await pool.execute(
        """INSERT INTO readmodel.content_facets VALUES ('reel', 'language', 'de', 0), ('reel', 'language', 'en', 3),
                  ('image', 'language', 'fr', 2)"""
    )
    options = (await (await api.get("/api/filter-options")).json())["data"]
    assert options["languages"] == [{"name": "en", "count": 3}] and options["keywords"] == []


async def test_an_empty_feed_is_one_last_page(api: TestClient) -> None:
    data = await page(api, "/api/reels", [])
    assert data == {"reels": [], "isLastPage": True, "next_cursor": None}


async def test_profile_reels_sort_by_outlier_with_thumbnails_and_without_posts(
    api: TestClient, pool: asyncpg.Pool
) -> None:
    maya = Creator("maya")
    items = [
        Item("101", maya, outlier_score=2.0, view_count=500, thumbnail_url="https://t/101"),
        Item("102", maya, outlier_score=9.0, view_count=100),
        Item("103", maya, outlier_score=2.0, view_count=900),
        Item("104", maya, post_type="image", outlier_score=50.0, view_count=None),
    ]
    await insert_creators(pool, [maya])
    await insert_items(pool, items)
    resp = await api.get("/api/profile/maya/reels", params={"sort_by": "outlier"})
    data = (await resp.json())["data"]
    assert resp.status == 200 and data["sort_by"] == "outlier"
    assert [r["content_id"] for r in data["reels"]] == ["102", "101", "103"]
    assert data["total"] == 3 and data["has_more"] is False
    assert data["reels"][1]["thumbnail_url"] == "https://t/101" and data["reels"][0]["thumbnail_url"] is None
    popular = (await (await api.get("/api/profile/maya/reels", params={"limit": "1", "offset": "5"})).json())[
        "data"
    ]
    assert popular["total"] == 3 and popular["reels"] == []
