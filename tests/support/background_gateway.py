"""The gateway (with the projector and profile-ingest's relay) on a real TCP port, run on an event loop
of its own in a thread: for clients that block, such as Schemathesis's."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.gateway.server import start_http
from services.gateway.settings import GatewaySettings
from tests.integration.test_relay_and_restarts import projector_runtime
from tests.support.runtime import running

Seed = Callable[[str, ServiceRuntime], Awaitable[None]]


class BackgroundGateway:
    def __init__(self, settings: GatewaySettings, seed: Seed | None = None) -> None:
        self.settings = settings
        self.seed = seed
        self.base_url = ""
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="background-gateway", daemon=True)

    def start(self, timeout_s: float = 60) -> BackgroundGateway:
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise AssertionError(f"the gateway did not start within {timeout_s}s")
        if self._failure is not None:
            raise AssertionError("the gateway did not start") from self._failure
        return self

    def stop(self, timeout_s: float = 60) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._failure = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        gateway = ServiceRuntime("gateway", self.settings, stateless_db=True)
        # profile-ingest's relay publishes the ingestion events a seed appends in its name.
        ingest_relay = ServiceRuntime("profile-ingest", self.settings)
        async with running(gateway, ingest_relay, projector_runtime(self.settings)):
            runner = await start_http(create_app(gateway, self.settings), "127.0.0.1", 0, shutdown_timeout=1)
            try:
                host, port = runner.addresses[0][:2]
                self.base_url = f"http://{host}:{port}"
                if self.seed is not None:
                    await self.seed(self.base_url, gateway)
                self._ready.set()
                await self._stop.wait()
            finally:
                await runner.cleanup()

    def __enter__(self) -> BackgroundGateway:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()
