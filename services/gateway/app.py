"""The gateway's aiohttp application: middlewares, shared state, the route table (routes.py)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import Counter, Histogram

from libs.events import EventStore
from libs.events.db import FairPool
from libs.runtime.service import ServiceRuntime
from services.gateway import cors, identity, job_events, keys, media, replica
from services.gateway.errors import error_middleware
from services.gateway.routes import setup_routes
from services.gateway.settings import GatewaySettings
from services.gateway.status_cache import STATUS_CACHE, StatusCache
from services.gateway.validation import MAX_BODY, input_guard

HTTP_REQUESTS = Counter(
    "viralspot_http_requests_total", "HTTP requests served by the gateway", ["route", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "viralspot_http_request_duration_seconds",
    "Gateway request latency",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


_SERIES: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
_MAX_SERIES = 4096


@web.middleware
async def metrics_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    started = time.perf_counter()
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    response = await handler(request)
    key = (route, request.method, response.status)
    series = _SERIES.get(key)
    if series is None:
        # labels() locks and hashes on every call: the series are bound once (up to a bound, as a
        # client may send any method name).
        series = (
            HTTP_REQUESTS.labels(route, request.method, str(response.status)),
            HTTP_SECONDS.labels(route, request.method),
        )
        if len(_SERIES) < _MAX_SERIES:
            _SERIES[key] = series
    series[0].inc()
    series[1].observe(time.perf_counter() - started)
    return response


def create_app(runtime: ServiceRuntime, settings: GatewaySettings) -> web.Application:
    # The metrics middleware wraps the error one, so error statuses are counted too; the input guard
    # runs inside the error middleware, so what it refuses gets the JSON error envelope. CORS preflights
    # are answered before the guard and the router's 405.
    app = web.Application(
        client_max_size=MAX_BODY,
        middlewares=[metrics_middleware, error_middleware, cors.preflight, input_guard],
    )
    assert runtime.pool is not None
    # Requests queue for connections in arrival order (the relay uses the runtime's pool directly).
    app[keys.POOL] = FairPool(runtime.pool, settings.db_pool_max)
    app[keys.STORE] = EventStore(producer=runtime.name)
    app[STATUS_CACHE] = StatusCache(app[keys.POOL], settings.status_cache_entries)
    app[keys.RUNTIME] = runtime
    app[keys.SETTINGS] = settings
    setup_routes(app, runtime.name, runtime.ready)
    identity.attach(app)
    cors.attach(app)
    job_events.attach(app)
    replica.attach(app, settings)
    media.attach(app, settings)
    return app
