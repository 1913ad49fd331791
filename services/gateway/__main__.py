"""gateway: the HTTP API. Appends commands as events; reads the projector's tables."""

from __future__ import annotations

import asyncpg
import structlog

from libs.runtime import ServiceRuntime, run
from services.gateway.app import create_app
from services.gateway.idempotency import purge_expired
from services.gateway.server import GatewayRunner, start_http
from services.gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)


async def main() -> None:
    settings = GatewaySettings()
    # Requests keep no session state on pooled connections (the relay's lock and LISTEN are on a
    # connection of its own): no reset query on every release.
    runtime = ServiceRuntime("gateway", settings, stateless_db=True)
    runner: GatewayRunner | None = None

    async def close_http() -> None:
        if runner is not None:
            await runner.cleanup()

    runtime.on_stop(close_http)

    async def serve() -> None:
        nonlocal runner
        app = create_app(runtime, settings)
        runner = await start_http(app, settings.gateway_host, settings.gateway_port, access_log=None)
        log.info("gateway.listening", host=settings.gateway_host, port=settings.gateway_port)

    runtime.add_background("http-server", serve)
    runtime.add_background("idempotency-purge", lambda: purge_expired(_pool(runtime)))
    await runtime.run_until_signalled()


def _pool(runtime: ServiceRuntime) -> asyncpg.Pool:
    assert runtime.pool is not None, "background loops start after the runtime's pool"
    return runtime.pool


if __name__ == "__main__":
    run(main, "gateway", GatewaySettings().log_level)
