"""The discovery feed's question from its query string, its cursor and its page (services.gateway.domain.feed,
feed_cursor, feed_page), and the statement it becomes: no I/O."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from libs import categories
from services.gateway.domain.feed import (
    RANDOM,
    FeedQuery,
    FeedRefusal,
    Filters,
    Shuffle,
    parse_feed_query,
)
from services.gateway.domain.feed_cursor import Position, decode_cursor, encode_cursor
from services.gateway.domain.feed_page import feed_page, score_confidence
from services.gateway.repository.feed import _Statement, feed_statement

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "openapi.yaml"


def parse(*params: tuple[str, str], kind: Any = "reels") -> FeedQuery:
    return parse_feed_query(list(params), kind)


def refused(*params: tuple[str, str], kind: Any = "reels") -> FeedRefusal:
    with pytest.raises(FeedRefusal) as caught:
        parse(*params, kind=kind)
    return caught.value


def cursor_of(query: FeedQuery, position: Position) -> str:
    return encode_cursor(query.sort, query.fingerprint, position)


def test_no_parameters_ask_for_the_first_24_reels_by_outlier_score() -> None:
    query = parse()
    assert (query.kind, query.sort, query.limit, query.offset, query.after) == (
        "reels",
        "popular",
        24,
        0,
        None,
    )
    assert query.filters == Filters() and query.segments == 1 and query.order.descending


def test_lists_are_repeated_or_comma_separated_deduplicated_and_sorted() -> None:
    query = parse(
        ("primary_categories", "travel,fitness"), ("primary_categories", "cooking"), ("languages", "en,en")
    )
    assert query.filters.lists == {
        "primary_categories": ("cooking", "fitness", "travel"),
        "languages": ("en",),
    }


def test_a_list_of_51_entries_is_refused_however_it_is_written() -> None:
    assert "at most 50" in refused(("keywords", ",".join(f"k{n}" for n in range(51)))).detail
    refused(*[("keywords", f"k{n},x{n}") for n in range(26)])
    assert len(parse(*[("keywords", f"k{n}") for n in range(50)]).filters.lists["keywords"]) == 50


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("primary_categories", "knitting"),
        ("secondary_categories", "Fitness"),
        ("tertiary_categories", ""),
        ("account_types", "creator"),
        ("languages", "english"),
        ("content_styles", "talking head"),
        ("content_types", "image"),
        ("excluded_usernames", "bad name"),
        ("keywords", ""),
        ("keywords", "k" * 41),
    ],
)
def test_list_entries_outside_the_taxonomy_or_the_rules_are_refused(name: str, value: str) -> None:
    assert refused((name, value)).error_code == "INVALID_PARAMETER"


def test_excluded_usernames_follow_the_username_rule() -> None:
    assert parse(("excluded_usernames", "@Maya,bob.fit")).filters.lists["excluded_usernames"] == (
        "bob.fit",
        "maya",
    )


def test_every_taxonomy_value_is_accepted() -> None:
    query = parse(
        ("primary_categories", ",".join(categories.CATEGORY_NAMES)),
        ("languages", ",".join(categories.LANGUAGES)),
        ("content_styles", ",".join(categories.CONTENT_STYLES)),
        ("account_types", ",".join(categories.ACCOUNT_TYPES)),
    )
    assert len(query.filters.lists["primary_categories"]) == len(categories.CATEGORY_NAMES)


def test_ranges_take_integers_and_numbers_within_their_bounds() -> None:
    query = parse(("min_views", "10"), ("max_likes", "9223372036854775807"), ("min_outlier_score", "2.5e0"))
    assert query.filters.ranges == {
        "outlier_score": (2.5, None),
        "views": (10, None),
        "likes": (None, 2**63 - 1),
    }
    assert parse(("max_account_engagement_rate", ".5")).filters.ranges == {
        "account_engagement_rate": (None, 0.5)
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("min_views", "abc"),
        ("min_views", "1.5"),
        ("min_views", "-1"),
        ("max_views", "9223372036854775808"),
        ("min_likes", " 5"),
        ("min_followers", "\u0665"),  # an Arabic-Indic five: int() would take it
        ("min_outlier_score", "nan"),
        ("min_outlier_score", "inf"),
        ("max_outlier_score", "1e999"),
        ("min_account_engagement_rate", "-0.5"),
        ("max_account_engagement_rate", "1_0"),
    ],
)
def test_bad_numbers_are_refused(name: str, value: str) -> None:
    assert refused((name, value)).error_code == "INVALID_PARAMETER"


@pytest.mark.parametrize(
    ("name", "value"),
    [("limit", "0"), ("limit", "101"), ("limit", "ten"), ("offset", "-1"), ("offset", "100001")],
)
def test_limit_and_offset_keep_to_their_bounds(name: str, value: str) -> None:
    assert refused((name, value)).error_code == "INVALID_PARAMETER"


def test_limit_and_offset_at_their_bounds_are_taken() -> None:
    assert (parse(("limit", "100"), ("offset", "100000")).limit, parse(("limit", "1")).limit) == (100, 1)


def test_a_parameter_of_one_value_given_twice_is_refused() -> None:
    assert "once" in refused(("limit", "5"), ("limit", "6")).detail


def test_search_is_at_most_200_characters_and_blank_means_none() -> None:
    assert parse(("search", "s" * 200)).filters.search == "s" * 200
    assert "200" in refused(("search", "s" * 201)).detail
    assert parse(("search", "   ")).filters.search is None


def test_date_range_and_booleans_take_only_their_words() -> None:
    assert parse(("date_range", "last_90_days"), ("is_verified", "false")).filters == Filters(
        date_range="last_90_days", is_verified=False
    )
    for params in [("date_range", "last_week")], [("is_verified", "True")], [("random_order", "1")]:
        refused(*params)


def test_sort_by_takes_the_documented_sorts_only() -> None:
    for sort in ("views", "likes", "comments", "recent", "oldest", "followers", "account_engagement"):
        assert parse(("sort_by", sort)).sort == sort
    assert parse(("sort_by", "niche_outlier")).segments == 2
    assert "popular" in refused(("sort_by", "bogus")).detail


def test_posts_refuse_what_needs_views_and_take_their_own_content_types() -> None:
    for params in (
        [("sort_by", "views")],
        [("sort_by", "niche_outlier")],
        [("min_views", "1")],
        [("max_views", "1")],
    ):
        assert refused(*params, kind="posts").error_code == "INVALID_PARAMETER"
    assert parse(("content_types", "carousel"), kind="posts").filters.lists == {
        "content_types": ("carousel",)
    }
    refused(("content_types", "reel"), kind="posts")


def test_random_order_needs_a_session_and_replaces_the_sort() -> None:
    assert "session_id" in refused(("random_order", "true")).detail
    refused(("random_order", "true"), ("session_id", "  "))
    refused(("session_id", "x" * 256))
    query = parse(("random_order", "true"), ("session_id", "s-1"), ("sort_by", "likes"))
    assert query.sort == RANDOM and query.shuffle == Shuffle.of_session("s-1") and query.segments == 2
    assert parse(("random_order", "false"), ("session_id", "s-1")).sort == "popular"


def test_a_session_shuffles_the_same_way_every_time_and_sessions_differ() -> None:
    assert Shuffle.of_session("a") == Shuffle.of_session("a")
    starts = {Shuffle.of_session(f"session-{n}") for n in range(200)}
    assert len(starts) == 200 and {s.descending for s in starts} == {True, False}
    assert all(-(2**31) <= s.start < 2**31 for s in starts)


def test_a_cursor_resumes_its_own_query() -> None:
    query = parse(("sort_by", "recent"), ("languages", "en"))
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    cursor = cursor_of(query, Position(0, moment, "3301"))
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    again = parse(("languages", "en"), ("sort_by", "recent"), ("cursor", cursor), ("limit", "50"))
    assert again.after == Position(0, moment, "3301") and again.limit == 50


def test_a_cursor_keeps_each_sorts_key_exactly() -> None:
    for sort, key in (("popular", 2.0000000000000004), ("likes", 2**62), ("oldest", None)):
        query = parse(("sort_by", sort))
        segment = 1 if key is None else 0
        cursor = cursor_of(query, Position(segment, key, "a"))
        assert parse(("sort_by", sort), ("cursor", cursor)).after == Position(segment, key, "a")


@pytest.mark.parametrize(
    "other",
    [
        [("sort_by", "comments")],
        [("sort_by", "likes"), ("languages", "en")],
        [("sort_by", "likes"), ("search", "pasta")],
        [("sort_by", "likes"), ("min_likes", "0")],
        [("sort_by", "likes"), ("is_verified", "true")],
        [("random_order", "true"), ("session_id", "s")],
    ],
)
def test_a_cursor_of_another_query_is_refused(other: list[tuple[str, str]]) -> None:
    cursor = cursor_of(parse(("sort_by", "likes")), Position(0, 10, "a"))
    assert refused(*other, ("cursor", cursor)).error_code == "INVALID_CURSOR"


def test_a_cursor_of_another_session_or_kind_is_refused() -> None:
    mine = parse(("random_order", "true"), ("session_id", "a"))
    cursor = cursor_of(mine, Position(0, 5, "x"))
    assert parse(("random_order", "true"), ("session_id", "a"), ("cursor", cursor)).after is not None
    assert (
        refused(("random_order", "true"), ("session_id", "b"), ("cursor", cursor)).error_code
        == "INVALID_CURSOR"
    )
    posts = cursor_of(parse(kind="posts"), Position(0, 1.0, "x"))
    assert refused(("cursor", posts)).error_code == "INVALID_CURSOR"


def forged(query: FeedQuery, **changes: Any) -> str:
    document = {"v": 1, "s": query.sort, "g": 0, "k": 1.5, "i": "3301", "f": query.fingerprint, **changes}
    return base64.urlsafe_b64encode(orjson.dumps(document)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "changes",
    [
        {"v": 2},
        {"s": "likes"},
        {"g": 1},
        {"g": -1},
        {"g": True},
        {"k": "1.5"},
        {"k": None},
        {"k": 1e400},
        {"i": ""},
        {"i": 5},
        {"i": "a\u0000b"},
        {"i": "x" * 201},
        {"extra": 1},
    ],
)
def test_an_altered_cursor_is_refused(changes: dict[str, Any]) -> None:
    query = parse()
    assert parse(("cursor", forged(query))).after == Position(0, 1.5, "3301")
    document = forged(query, **changes)
    assert refused(("cursor", document)).error_code == "INVALID_CURSOR"


@pytest.mark.parametrize("raw", ["", "!!!!", "a", "bm90IGpzb24", "W10", "x" * 2000, "e30="])
def test_a_cursor_that_is_not_one_is_refused(raw: str) -> None:
    assert refused(("cursor", raw)).error_code == "INVALID_CURSOR"


def test_the_keyless_segment_of_a_nullable_sort_carries_no_key() -> None:
    query = parse(("sort_by", "views"))
    assert decode_cursor(cursor_of(query, Position(1, None, "a")), "views", query.fingerprint, int, 2, True)
    assert not decode_cursor(cursor_of(query, Position(1, 5, "a")), "views", query.fingerprint, int, 2, True)
    assert not decode_cursor(
        cursor_of(query, Position(0, None, "a")), "views", query.fingerprint, int, 2, True
    )
    dated = parse(("sort_by", "recent"))
    assert refused(("sort_by", "recent"), ("cursor", forged(dated, k="2026-01-01T00:00:00"))).error_code
    assert refused(("sort_by", "recent"), ("cursor", forged(dated, k="yesterday"))).error_code


def test_a_page_of_limit_plus_one_rows_has_a_next_cursor_to_its_last_item() -> None:
    query = parse(("limit", "2"))
    rows = [_row(str(n), segment=0, sort_key=9.0 - n) for n in range(3)]
    page = feed_page(query, rows)
    assert [r["content_id"] for r in page["reels"]] == ["0", "1"] and page["isLastPage"] is False
    assert parse(("limit", "2"), ("cursor", page["next_cursor"])).after == Position(0, 8.0, "1")
    last = feed_page(query, rows[:2])
    assert last["isLastPage"] is True and last["next_cursor"] is None


def test_a_feed_item_shows_the_creator_and_the_scores() -> None:
    item = feed_page(parse(), [_row("1", creator_reels=3, niche_reels=80, niche_outlier_score=2.5)])["reels"][
        0
    ]
    assert item["niche_outlier_score"] == 2.5 and item["score_confidence"] == "low"
    assert item["primary_category"] == "fitness" and item["category"] == "cooking"
    assert item["creator"] == {
        "username": "maya",
        "profile_name": "Maya",
        "followers": 10,
        "is_verified": False,
        "account_type": "personal",
        "profile_image_url": None,
    }
    assert "carousel_count" not in item
    post = feed_page(parse(kind="posts"), [_row("2", post_type="carousel", carousel_count=4)])["posts"][0]
    assert post["carousel_count"] == 4


def test_score_confidence_is_low_for_few_creator_or_niche_reels() -> None:
    assert score_confidence(5, 50) == "high"
    assert score_confidence(4, 500) == "low" and score_confidence(500, 49) == "low"
    assert score_confidence(None, 100) == "low" and score_confidence(100, None) is None


@pytest.mark.parametrize(
    "params",
    [
        [],
        [("sort_by", "views")],
        [("sort_by", "niche_outlier"), ("date_range", "last_30_days")],
        [("random_order", "true"), ("session_id", "s")],
    ],
)
def test_client_values_reach_the_statement_only_as_parameters(params: list[tuple[str, str]]) -> None:
    evil = "x'); DROP TABLE readmodel.content; --"
    query = parse(
        *params,
        ("search", evil),
        ("keywords", evil),
        ("excluded_usernames", "a.b_c"),
        ("min_likes", "7"),
        ("limit", "3"),
        ("offset", "2"),
    )
    statement = _Statement()
    sql = feed_statement(query, statement)
    assert evil not in sql and "DROP" not in sql and "a.b_c" not in sql
    assert evil in statement.args and "a.b_c" in statement.args and 7 in statement.args
    assert sql.count("$") >= len(statement.args)


def test_a_cursor_bounds_only_its_own_segment_and_later_ones_are_read_if_needed() -> None:
    query = parse(("sort_by", "views"))
    after = parse(("sort_by", "views"), ("cursor", cursor_of(query, Position(1, None, "42"))))
    statement = _Statement()
    sql = feed_statement(after, statement)
    assert "s0 AS" not in sql and "s1 AS" in sql and "c.view_count IS NULL" in sql and "42" in statement.args
    first = feed_statement(query, _Statement())
    assert "(SELECT count(*) FROM s0) <" in first


def test_the_contract_lists_the_taxonomy_and_the_sorts() -> None:
    document = yaml.safe_load(CONTRACT.read_text())
    schemas = document["components"]["schemas"]
    assert tuple(schemas["CategoryName"]["enum"]) == categories.CATEGORY_NAMES
    assert tuple(schemas["LanguageCode"]["enum"]) == categories.LANGUAGES
    assert tuple(schemas["ContentStyle"]["enum"]) == categories.CONTENT_STYLES
    assert tuple(schemas["AccountType"]["enum"]) == categories.ACCOUNT_TYPES
    for path, kind in (("/api/reels", "reels"), ("/api/posts", "posts")):
        parameters = {p.get("name"): p for p in document["paths"][path]["get"]["parameters"]}
        for sort in parameters["sort_by"]["schema"]["enum"]:
            assert parse(("sort_by", sort), kind=kind).sort == sort


def _row(content_id: str, **values: Any) -> dict[str, Any]:
    row = {
        "content_id": content_id,
        "username": "maya",
        "shortcode": "s",
        "url": "u",
        "thumbnail_url": None,
        "description": None,
        "view_count": 10,
        "like_count": 1,
        "comment_count": 0,
        "outlier_score": 1.0,
        "niche_outlier_score": None,
        "creator_reels": 10,
        "niche_reels": None,
        "date_posted": None,
        "creator_primary_category": "fitness",
        "creator_secondary_category": None,
        "creator_tertiary_category": None,
        "category": "cooking",
        "keywords": ["pasta"],
        "language": "en",
        "content_style": "tutorial",
        "hook_type": None,
        "post_type": "reel",
        "carousel_count": None,
        "transcript_available": False,
        "profile_name": "Maya",
        "creator_followers": 10,
        "creator_verified": False,
        "creator_account_type": "personal",
        "profile_image_url": None,
        "segment": 0,
        "sort_key": 1.0,
    }
    return {**row, **values}
