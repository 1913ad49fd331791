from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from libs.runtime import ServiceRuntime


@asynccontextmanager
async def running(*runtimes: ServiceRuntime) -> AsyncIterator[None]:
    """Run in-process services for the duration of a block; stop them gracefully afterwards."""
    started: list[ServiceRuntime] = []
    try:
        for runtime in runtimes:
            await runtime.start()
            started.append(runtime)
        yield
    finally:
        for runtime in reversed(started):
            await runtime.stop()
