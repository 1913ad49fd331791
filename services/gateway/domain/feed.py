"""The discovery feed's question, decided from the query string (no I/O): which items (the filters), in
what order (a sort, or a session's shuffle) and from where (an offset, or the position a cursor names).

Every refusal is a FeedRefusal, which the view answers with 400 and the error envelope.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

import orjson

from libs import categories, usernames
from services.gateway.domain.feed_cursor import Position, decode_cursor

Kind = Literal["reels", "posts"]
Number = int | float

CONTENT_TYPES: dict[Kind, tuple[str, ...]] = {"reels": ("reel",), "posts": ("image", "carousel")}
MAX_ENTRIES = 50
MAX_SEARCH = 200
DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET = 24, 100, 100_000
MAX_SESSION_ID = 255
MAX_KEYWORD = 40  # as ReelCategories' keywords
INT64_MAX = 2**63 - 1
DATE_RANGES = {"last_7_days": 7, "last_30_days": 30, "last_90_days": 90, "last_year": 365}
ALLOWED: dict[str, tuple[str, ...] | None] = {
    "primary_categories": categories.CATEGORY_NAMES,
    "secondary_categories": categories.CATEGORY_NAMES,
    "tertiary_categories": categories.CATEGORY_NAMES,
    "keywords": None,  # any keyword (the classifiers name their own)
    "account_types": categories.ACCOUNT_TYPES,
    "content_types": None,  # per kind: CONTENT_TYPES
    "languages": categories.LANGUAGES,
    "content_styles": categories.CONTENT_STYLES,
    "excluded_usernames": None,  # the username rule
}
RANGES: dict[str, type] = {
    "outlier_score": float,
    "views": int,
    "likes": int,
    "comments": int,
    "followers": int,
    "account_engagement_rate": float,
}
_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_KEYWORD = re.compile(rf"[^,]{{1,{MAX_KEYWORD}}}")


class FeedRefusal(Exception):
    def __init__(self, error_code: str, detail: str) -> None:
        super().__init__(detail)
        self.error_code = error_code
        self.detail = detail


@dataclass(frozen=True)
class Sort:
    key: type  # what the sort key is (int, float or datetime): a cursor's key must be one
    descending: bool = True
    # The key may be null: those items come after every other, in descending content_id.
    nullable: bool = False


SORTS: dict[str, Sort] = {
    "popular": Sort(float),
    "views": Sort(int, nullable=True),
    "likes": Sort(int),
    "comments": Sort(int),
    "recent": Sort(datetime, nullable=True),
    "oldest": Sort(datetime, descending=False, nullable=True),
    "followers": Sort(int, nullable=True),
    "account_engagement": Sort(float, nullable=True),
    "content_engagement": Sort(float),
    "niche_outlier": Sort(float, nullable=True),
}
VIEW_SORTS = frozenset({"views", "niche_outlier"})
RANDOM = "random"


@dataclass(frozen=True)
class Shuffle:
    """A session's random order: the fixed shuffle_key order of every item (a hash of its content_id,
    so stable as items come and go), walked from a start point and in a direction derived from the
    session id, wrapping round at the end (segment 1 is the part before the start point).

    Why not ORDER BY hash(session_id, content_id): that is a true permutation per session, but each page
    would sort every matching item, so page 200 costs a full sort of the feed, and items added meanwhile
    land anywhere, repeats and skips included. Walking one index from a per-session point costs what any
    page costs, never repeats nor skips (keyset on (shuffle_key, content_id)), and gives sessions
    unrelated first pages; what they share is the cyclic order itself, 2^32 start points in two
    directions apart, which a person browsing a feed does not see."""

    start: int  # a 32-bit signed integer, as shuffle_key (hashtext)
    descending: bool

    @classmethod
    def of_session(cls, session_id: str) -> Shuffle:
        digest = hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).digest()
        return cls(int.from_bytes(digest[:4], "big", signed=True), bool(digest[4] & 1))


@dataclass(frozen=True)
class Filters:
    search: str | None = None
    # parameter -> its values, de-duplicated and sorted; only the parameters given
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # range name (RANGES) -> (min, max), either may be None; only the ranges given
    ranges: dict[str, tuple[Number | None, Number | None]] = field(default_factory=dict)
    date_range: str | None = None
    is_verified: bool | None = None


@dataclass(frozen=True)
class FeedQuery:
    kind: Kind
    sort: str  # a SORTS name, or RANDOM
    filters: Filters = field(default_factory=Filters)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    shuffle: Shuffle | None = None
    after: Position | None = None  # the last item of the previous page (from the cursor)

    @property
    def order(self) -> Sort:
        if self.sort == RANDOM:
            assert self.shuffle is not None
            return Sort(int, descending=self.shuffle.descending)
        return SORTS[self.sort]

    @property
    def segments(self) -> int:
        """The parts the walk goes through in turn: the keyed items then the unkeyed, or a shuffle's two
        halves."""
        return 2 if self.sort == RANDOM or self.order.nullable else 1

    @property
    def fingerprint(self) -> str:
        """What a cursor must have been made for: everything but the page's size and place."""
        f = self.filters
        described = {
            "kind": self.kind,
            "sort": self.sort,
            "shuffle": [self.shuffle.start, self.shuffle.descending] if self.shuffle else None,
            "search": f.search,
            "lists": f.lists,
            "ranges": f.ranges,
            "date_range": f.date_range,
            "is_verified": f.is_verified,
        }
        return hashlib.sha256(orjson.dumps(described, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def parse_feed_query(params: Sequence[tuple[str, str]], kind: Kind) -> FeedQuery:
    """The query string of GET /api/reels or /api/posts as a FeedQuery; parameters the feed does not
    know are ignored, as elsewhere in the gateway."""
    given: dict[str, list[str]] = {}
    for name, value in params:
        given.setdefault(name, []).append(value)

    def one(name: str) -> str | None:
        values = given.get(name)
        if values is not None and len(values) > 1:
            raise FeedRefusal("INVALID_PARAMETER", f"{name} must be given once.")
        return values[0] if values else None

    sort = _sort(kind, one("sort_by"))
    session_id = one("session_id")
    if session_id is not None and (not session_id.strip() or len(session_id) > MAX_SESSION_ID):
        raise FeedRefusal("INVALID_PARAMETER", "session_id must be 1-255 characters and not blank.")
    shuffle = None
    if _boolean("random_order", one("random_order")):
        if session_id is None:
            raise FeedRefusal(
                "INVALID_PARAMETER", "random_order needs a session_id (the order is the session's)."
            )
        sort, shuffle = RANDOM, Shuffle.of_session(session_id)
    query = FeedQuery(
        kind=kind,
        sort=sort,
        filters=_filters(kind, given, one),
        limit=_integer("limit", one("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_integer("offset", one("offset"), 0, 0, MAX_OFFSET),
        shuffle=shuffle,
    )
    cursor = one("cursor")
    if cursor is None:
        return query
    order = query.order
    after = decode_cursor(cursor, sort, query.fingerprint, order.key, query.segments, order.nullable)
    if after is None:
        raise FeedRefusal(
            "INVALID_CURSOR", "cursor is not a next_cursor of this query (same filters, sort and session)."
        )
    return replace(query, after=after)


def _filters(kind: Kind, given: dict[str, list[str]], one: Callable[[str], str | None]) -> Filters:
    ranges: dict[str, tuple[Number | None, Number | None]] = {}
    for name, kind_of_number in RANGES.items():
        low, high = one(f"min_{name}"), one(f"max_{name}")
        if low is None and high is None:
            continue
        if name == "views" and kind == "posts":
            raise FeedRefusal(
                "INVALID_PARAMETER", "Posts have no views: min_views and max_views are for reels."
            )
        ranges[name] = (
            _number(f"min_{name}", low, kind_of_number),
            _number(f"max_{name}", high, kind_of_number),
        )
    search = one("search")
    if search is not None and len(search) > MAX_SEARCH:
        raise FeedRefusal("INVALID_PARAMETER", f"search must be at most {MAX_SEARCH} characters.")
    date_range = one("date_range")
    if date_range is not None and date_range not in DATE_RANGES:
        raise FeedRefusal("INVALID_PARAMETER", f"date_range must be one of {', '.join(DATE_RANGES)}.")
    return Filters(
        search=search if search is not None and search.strip() else None,
        lists={name: _entries(kind, name, given[name]) for name in ALLOWED if name in given},
        ranges=ranges,
        date_range=date_range,
        is_verified=_boolean("is_verified", one("is_verified")),
    )


def _sort(kind: Kind, raw: str | None) -> str:
    sorts = [s for s in SORTS if kind == "reels" or s not in VIEW_SORTS]
    if raw is None:
        return "popular"
    if raw not in sorts:
        raise FeedRefusal("INVALID_PARAMETER", f"sort_by must be one of {', '.join(sorts)}.")
    return raw


def _entries(kind: Kind, name: str, values: list[str]) -> tuple[str, ...]:
    """A list parameter's entries: repeated, comma-separated, or both."""
    entries = [entry for value in values for entry in value.split(",")]
    if len(entries) > MAX_ENTRIES:
        raise FeedRefusal("INVALID_PARAMETER", f"{name} takes at most {MAX_ENTRIES} entries.")
    allowed = CONTENT_TYPES[kind] if name == "content_types" else ALLOWED[name]
    checked: set[str] = set()
    for entry in entries:
        if name == "excluded_usernames":
            username = usernames.normalise_username(entry)
            if username is None:
                raise FeedRefusal("INVALID_PARAMETER", f"excluded_usernames: each must be {usernames.RULE}.")
            checked.add(username)
        elif allowed is None:
            if not _KEYWORD.fullmatch(entry):
                raise FeedRefusal("INVALID_PARAMETER", f"keywords: each must be 1-{MAX_KEYWORD} characters.")
            checked.add(entry)
        elif entry not in allowed:
            raise FeedRefusal("INVALID_PARAMETER", f"{name}: each must be one of {', '.join(allowed)}.")
        else:
            checked.add(entry)
    return tuple(sorted(checked))


def _integer(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise FeedRefusal("INVALID_PARAMETER", f"{name} must be an integer.")
    value = int(raw)
    if not low <= value <= high:
        raise FeedRefusal("INVALID_PARAMETER", f"{name} must be between {low} and {high}.")
    return value


def _number(name: str, raw: str | None, kind_of_number: type) -> Number | None:
    if raw is None:
        return None
    if kind_of_number is int:
        return _integer(name, raw, 0, 0, INT64_MAX)
    value = float(raw) if _DECIMAL.fullmatch(raw) else math.nan
    if not math.isfinite(value) or value < 0:
        raise FeedRefusal("INVALID_PARAMETER", f"{name} must be a number of at least 0.")
    return value


def _boolean(name: str, raw: str | None) -> bool | None:
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise FeedRefusal("INVALID_PARAMETER", f"{name} must be true or false.")
    return raw == "true"
