"""/healthz, /readyz and /metrics for every service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

Readiness = Callable[[], Awaitable[dict[str, bool]]]


def add_ops_routes(app: web.Application, service: str, ready: Readiness) -> None:
    """`ready` checks what the service needs (broker, database); each check is reported by name."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive", "service": service})

    async def readyz(_request: web.Request) -> web.Response:
        checks = await ready()
        ok = all(checks.values())
        return web.json_response(
            {"status": "ready" if ok else "not_ready", "service": service, "checks": checks},
            status=200 if ok else 503,
        )

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
