"""The web page (requesting and following analyses; the Discover view of the feed; the watchlist screen
with the alert feed and boards): plain HTML, CSS and JavaScript files, no build step."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).with_name("web")  # served under /static (routes.py)
# The page only talks to this gateway and never runs inline script: injected markup cannot execute.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def index(_request: web.Request) -> web.FileResponse:
    return _page("index.html")


async def discover(_request: web.Request) -> web.FileResponse:
    return _page("discover.html")


async def watchlist(_request: web.Request) -> web.FileResponse:
    return _page("watchlist.html")


def _page(name: str) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / name, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})
