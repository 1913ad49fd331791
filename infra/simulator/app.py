"""The simulated scraper and transcript APIs over real HTTP, with the provider's failure modes."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from aiohttp import web

from . import cdn, shapes
from .codes import parse_reel_code, parse_shortcode, parse_username
from .config import SimulatorConfig
from .control import STATE, add_control_routes, json_response
from .growth import reel_at, reels_at
from .posts import grid_page, post_caption
from .state import SimulatorState
from .world import (
    ReelRecord,
    account_kind,
    creator,
    similar_fields,
    similar_shape,
    similar_to,
    transcript_of,
)

_ACCOUNT_PATHS = (
    "/ig_get_fb_profile.php",
    "/get_ig_user_reels.php",
    "/get_ig_user_posts.php",
    "/get_ig_similar_accounts.php",
)
_REEL_QUERY = {"/get_media_data.php": "reel_post_code_or_url", "/transcript": "url"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(config: SimulatorConfig | None = None) -> web.Application:
    app = web.Application(middlewares=[provider_behaviour])
    app[STATE] = SimulatorState(config or SimulatorConfig())
    app.router.add_post("/ig_get_fb_profile.php", get_profile)
    app.router.add_post("/get_ig_user_reels.php", get_reels)
    app.router.add_post("/get_ig_user_posts.php", get_posts)
    app.router.add_get("/get_media_data.php", get_media)
    app.router.add_get("/get_ig_similar_accounts.php", get_similar_accounts)
    app.router.add_get("/transcript", get_transcript)
    app.router.add_get("/cdn/{path:.+}", cdn.get_image)
    add_control_routes(app)
    return app


@web.middleware
async def provider_behaviour(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Latency, the API key check, the rate limit and injected failures, in the provider's order."""
    if request.path.startswith(("/__sim/", "/cdn/")):
        return await handler(request)
    state = request.app[STATE]
    username = await _subject(request)
    status = 500
    try:
        response = await _answer(request, handler, state, username)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        state.record(request.path, status, username)


async def _answer(
    request: web.Request, handler: Handler, state: SimulatorState, username: str | None
) -> web.StreamResponse:
    if state.config.latency_ms > 0:
        await asyncio.sleep(state.config.latency_ms / 1000)
    if not request.headers.get("x-rapidapi-key", "").strip():
        return json_response(shapes.NOT_SUBSCRIBED, 403)
    wait_s = state.admit()
    if wait_s is not None:
        return json_response(shapes.RATE_LIMITED, 429, {"Retry-After": str(wait_s)})
    plan = state.take_failure(username)
    if plan is not None:
        if plan.delay_ms > 0:
            await asyncio.sleep(plan.delay_ms / 1000)
        if plan.status != 200:
            return _failure(plan.status, plan.retry_after_s)
    random_status = state.random_failure()
    if random_status is not None:
        return _failure(random_status, 1)
    return await handler(request)


async def get_profile(request: web.Request) -> web.Response:
    name = await _account(request, private_ok=True)
    if isinstance(name, web.Response):
        return name
    return json_response(shapes.profile(creator(_seed(request), name), _cdn(request)))


async def get_reels(request: web.Request) -> web.Response:
    name = await _account(request, private_ok=False)
    if isinstance(name, web.Response):
        return name
    window = await _page_window(request)
    if isinstance(window, web.Response):
        return window
    offset, end = window
    reels = _reels(request, name)
    next_token = _encode_token(end) if end < len(reels) else None
    return json_response(
        shapes.reels_page(creator(_seed(request), name), reels[offset:end], next_token, _cdn(request))
    )


async def get_posts(request: web.Request) -> web.Response:
    """The creator's grid, paged like its reels (see shapes.py for what a page holds)."""
    name = await _account(request, private_ok=False)
    if isinstance(name, web.Response):
        return name
    window = await _page_window(request)
    if isinstance(window, web.Response):
        return window
    offset, end = window
    seed, config = _seed(request), request.app[STATE].config
    items, more = grid_page(seed, name, config.reference_ts(), offset, end, config.growth_from_ts())
    next_token = _encode_token(end) if more else None
    page = shapes.posts_page(
        creator(seed, name), items, next_token, lambda post: post_caption(seed, name, post), _cdn(request)
    )
    return json_response(page)


async def get_media(request: web.Request) -> web.Response:
    found = _reel(request, request.query.get("reel_post_code_or_url", ""))
    if found is None:
        return json_response(shapes.MEDIA_NOT_FOUND)
    name, reel = found
    return json_response(shapes.media_data(creator(_seed(request), name), reel, _cdn(request)))


async def get_similar_accounts(request: web.Request) -> web.Response:
    name = await _account(request, private_ok=False)
    if isinstance(name, web.Response):
        return name
    seed = _seed(request)
    accounts = similar_to(seed, name)
    fields = similar_fields(seed, name, len(accounts))
    return json_response(shapes.similar_accounts(accounts, similar_shape(seed, name), fields, _cdn(request)))


async def get_transcript(request: web.Request) -> web.Response:
    found = _reel(request, request.query.get("url", ""))
    if found is None:
        return json_response(shapes.VIDEO_NOT_FOUND, 404)
    name, reel = found
    try:
        chunk_size = max(50, int(request.query.get("chunkSize") or 500))
    except ValueError:
        return json_response({"message": "chunkSize must be a number"}, 400)
    as_text = request.query.get("text", "false").lower() == "true"
    text = transcript_of(_seed(request), name, reel)
    language = creator(_seed(request), name).language
    return json_response(shapes.transcript(text, chunk_size, as_text, language))


async def _page_window(request: web.Request) -> tuple[int, int] | web.Response:
    """The [offset, end) slice a paged request asks for: `amount` items from its token's offset."""
    try:
        amount = min(100, max(1, int(await _field(request, "amount") or 12)))
        offset = _decode_token(await _field(request, "pagination_token"))
    except ValueError:
        return json_response({"error": "Invalid amount or pagination_token"}, 400)
    return offset, offset + amount


async def _account(request: web.Request, *, private_ok: bool) -> str | web.Response:
    """The account the request is about, or the error answer the provider would give instead."""
    raw = await _field(request, "username_or_url")
    if not raw:
        return json_response({"error": "username_or_url is required"}, 400)
    name = parse_username(raw)
    if name is None or account_kind(name) == "missing":
        return json_response(shapes.USER_NOT_FOUND)
    if account_kind(name) == "private" and not private_ok:
        return json_response(shapes.ACCOUNT_PRIVATE)
    return name


def _reel(request: web.Request, code_or_url: str) -> tuple[str, ReelRecord] | None:
    code = parse_reel_code(code_or_url)
    decoded = parse_shortcode(code) if code else None
    if decoded is None or account_kind(decoded[0]) != "public":
        return None
    name, index = decoded
    config = request.app[STATE].config
    reel = reel_at(config.seed, name, config.reference_ts(), config.growth_from_ts(), index)
    return None if reel is None else (name, reel)


def _reels(request: web.Request, name: str) -> tuple[ReelRecord, ...]:
    config = request.app[STATE].config
    return reels_at(config.seed, name, config.reference_ts(), config.growth_from_ts())


async def _subject(request: web.Request) -> str | None:
    """The username a request concerns, for failure plans and per-account counts."""
    if request.path in _ACCOUNT_PATHS:
        raw = await _field(request, "username_or_url")
        return parse_username(raw) if raw else None
    query_key = _REEL_QUERY.get(request.path)
    code = parse_reel_code(request.query.get(query_key, "")) if query_key else None
    decoded = parse_shortcode(code) if code else None
    return decoded[0] if decoded else None


async def _field(request: web.Request, name: str) -> str | None:
    """Form field for POST (aiohttp caches the parsed form), query parameter otherwise."""
    value = request.query.get(name)
    if value is None and request.method == "POST":
        form_value = (await request.post()).get(name)
        value = form_value if isinstance(form_value, str) else None
    return value


def _failure(status: int, retry_after_s: int) -> web.Response:
    if status == 429:
        return json_response(shapes.RATE_LIMITED, 429, {"Retry-After": str(retry_after_s)})
    if status == 502:
        # Gateways in front of the real API answer HTML, not JSON.
        return web.Response(
            status=502, text="<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html"
        )
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return json_response({"message": phrase}, status)


def _cdn(request: web.Request) -> str:
    return request.app[STATE].config.cdn_url or shapes.DEFAULT_CDN


def _seed(request: web.Request) -> int:
    return request.app[STATE].config.seed


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        label, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("bad token") from exc
    if label != "offset" or not offset.isdigit():
        raise ValueError("bad token")
    return int(offset)
