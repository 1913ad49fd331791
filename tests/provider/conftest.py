"""A simulator on a free local port, and a provider client pointed at it with tiny backoffs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from infra.simulator import SimulatorConfig, create_app
from libs.instagram import InstagramProvider
from tests.provider.provider_harness import NOW, RunningSimulator, StartSimulator


@pytest.fixture
async def start_simulator() -> AsyncIterator[StartSimulator]:
    runners: list[web.AppRunner] = []
    session = aiohttp.ClientSession()

    async def start(**config: Any) -> RunningSimulator:
        config.setdefault("now", NOW)
        runner = web.AppRunner(create_app(SimulatorConfig(**config)), shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        return RunningSimulator(f"http://{host}:{port}", session)

    yield start
    await session.close()
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def simulator(start_simulator: StartSimulator) -> RunningSimulator:
    return await start_simulator(seed=42)


@pytest.fixture
async def provider(simulator: RunningSimulator) -> AsyncIterator[InstagramProvider]:
    async with simulator.provider() as client:
        yield client
