"""The discovery feed: reels and posts of every creator the system knows, filtered and sorted, page by
page (domain/feed.py decides the question, repository/feed.py asks it), and the filter options."""

from __future__ import annotations

from aiohttp import web

from services.gateway.domain.feed import CONTENT_TYPES, FeedRefusal, Kind, parse_feed_query
from services.gateway.domain.feed_page import feed_page
from services.gateway.errors import ApiError
from services.gateway.replica import reads
from services.gateway.repository import feed as repository
from services.gateway.responses import ok

# content_facets' facet -> the answer's key
FACETS = {
    "primary_category": "primary_categories",
    "secondary_category": "secondary_categories",
    "tertiary_category": "tertiary_categories",
    "category": "categories",
    "keyword": "keywords",
    "language": "languages",
    "content_style": "content_styles",
    "account_type": "account_types",
}
_CONTENT = {"reels": "reels", "posts": "posts"}


async def reels(request: web.Request) -> web.Response:
    return await _feed(request, "reels")


async def posts(request: web.Request) -> web.Response:
    return await _feed(request, "posts")


async def _feed(request: web.Request, kind: Kind) -> web.Response:
    try:
        query = parse_feed_query(list(request.query.items()), kind)
    except FeedRefusal as refusal:
        raise ApiError(400, refusal.error_code, refusal.detail) from None
    async with reads(request).acquire() as conn:
        rows = await repository.feed_rows(conn, query)
    return ok(feed_page(query, rows))


async def filter_options(request: web.Request) -> web.Response:
    content = request.query.getall("content", ["reels"])
    if len(content) != 1 or content[0] not in _CONTENT:
        raise ApiError(400, "INVALID_PARAMETER", "content must be reels or posts (once).")
    kind: Kind = "reels" if content[0] == "reels" else "posts"
    async with reads(request).acquire() as conn:
        rows = await repository.facet_counts(conn, CONTENT_TYPES[kind])
    options: dict[str, list[dict[str, object]]] = {key: [] for key in FACETS.values()}
    for row in rows:
        if row["facet"] in FACETS:
            options[FACETS[row["facet"]]].append({"name": row["value"], "count": row["items"]})
    return ok(options)
