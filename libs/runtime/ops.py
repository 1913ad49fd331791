"""/healthz, /readyz and /metrics for every service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

if TYPE_CHECKING:
    from libs.runtime.service import ServiceRuntime


def add_ops_routes(app: web.Application, runtime: ServiceRuntime) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive", "service": runtime.name})

    async def readyz(_request: web.Request) -> web.Response:
        checks = await runtime.ready()
        ok = all(checks.values())
        return web.json_response(
            {"status": "ready" if ok else "not_ready", "service": runtime.name, "checks": checks},
            status=200 if ok else 503,
        )

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
