"""CORS for the origins in CORS_ORIGINS (none by default): a frontend served from its own origin may
call the API from the browser.

A preflight from an allowed origin is answered here, before routing would answer it with 405. Every
other answer to an allowed origin gets Access-Control-Allow-Origin as it is prepared, so error answers
and event streams carry it too. Another origin gets no CORS header, and the browser keeps the answer
from the page. Tokens travel in the Authorization header, not in cookies: no Allow-Credentials.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from services.gateway import keys

ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, Last-Event-ID"
# Beyond the CORS-safelisted ones (Content-Type, Content-Length, Cache-Control, ...).
EXPOSE_HEADERS = "Allow, Idempotent-Replayed, Location, Retry-After, WWW-Authenticate"

ORIGINS = web.AppKey("cors_origins", frozenset)


def attach(app: web.Application) -> None:
    settings = app[keys.SETTINGS]
    app[ORIGINS] = frozenset(settings.cors_origins)
    if app[ORIGINS]:
        app.on_response_prepare.append(_allow_origin)


@web.middleware
async def preflight(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.method != hdrs.METH_OPTIONS or hdrs.ACCESS_CONTROL_REQUEST_METHOD not in request.headers:
        return await handler(request)
    origin = request.headers.get(hdrs.ORIGIN)
    methods = _methods_of_the_resource(request)
    if origin is None or origin not in request.app[ORIGINS] or methods is None:
        return await handler(request)  # as any OPTIONS request: 405 with Allow, or 404
    settings = request.app[keys.SETTINGS]
    return web.Response(
        status=204,
        headers={
            hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: origin,
            hdrs.ACCESS_CONTROL_ALLOW_METHODS: methods,
            hdrs.ACCESS_CONTROL_ALLOW_HEADERS: ALLOW_HEADERS,
            hdrs.ACCESS_CONTROL_MAX_AGE: str(settings.cors_max_age_s),
        },
    )


def _methods_of_the_resource(request: web.Request) -> str | None:
    """The methods the requested path takes (no route takes OPTIONS, so routing found a 405)."""
    unmatched = getattr(request.match_info, "http_exception", None)
    if isinstance(unmatched, web.HTTPMethodNotAllowed):
        return ", ".join(sorted(unmatched.allowed_methods))
    return None


async def _allow_origin(request: web.Request, response: web.StreamResponse) -> None:
    # Whether the answer carries the header depends on Origin: caches must keep them apart.
    vary = response.headers.get(hdrs.VARY)
    if vary is None:
        response.headers[hdrs.VARY] = "Origin"
    elif "origin" not in {part.strip().lower() for part in vary.split(",")} and vary.strip() != "*":
        response.headers[hdrs.VARY] = f"{vary}, Origin"
    origin = request.headers.get(hdrs.ORIGIN)
    if (
        origin is not None
        and origin in request.app[ORIGINS]
        and hdrs.ACCESS_CONTROL_ALLOW_ORIGIN not in response.headers
    ):
        response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
        response.headers[hdrs.ACCESS_CONTROL_EXPOSE_HEADERS] = EXPOSE_HEADERS
