"""gateway: the HTTP API. Appends commands as events; reads the projector's tables."""

from __future__ import annotations

import structlog
from aiohttp import web

from libs.runtime import ServiceRuntime, run
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)


async def main() -> None:
    settings = GatewaySettings()
    # Requests and the relay keep no session state on pooled connections (the relay's lock is per
    # transaction, its LISTEN on a connection of its own): no reset query on every release.
    runtime = ServiceRuntime("gateway", settings, stateless_db=True)
    runner: web.AppRunner | None = None

    async def close_http() -> None:
        if runner is not None:
            await runner.cleanup()

    runtime.on_stop(close_http)

    async def serve() -> None:
        nonlocal runner
        runner = web.AppRunner(create_app(runtime, settings), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.gateway_host, settings.gateway_port, backlog=1024).start()
        log.info("gateway.listening", host=settings.gateway_host, port=settings.gateway_port)

    runtime.add_background("http-server", serve)
    await runtime.run_until_signalled()


if __name__ == "__main__":
    run(main, "gateway", GatewaySettings().log_level)
