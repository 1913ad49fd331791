"""A simulator on a free local port, and a provider client pointed at it with tiny backoffs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from libs.instagram import InstagramProvider
from tests.provider.provider_harness import RunningSimulator


@pytest.fixture
async def provider(simulator: RunningSimulator) -> AsyncIterator[InstagramProvider]:
    async with simulator.provider() as client:
        yield client
