"""The one loop behind every scheduled tick of a service (crawler schedule, alerts refresh)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from libs.events.db import is_database_outage

log = structlog.get_logger(__name__)


async def every(interval_s: float, tick: Callable[[], Awaitable[object]], name: str) -> None:
    """`tick` every `interval_s`, for ever. A database outage is logged and waited out (the next tick
    tries again); any other error ends the loop, and with it the service, as a bug should."""
    while True:
        try:
            await tick()
        except Exception as exc:
            if not is_database_outage(exc):
                raise
            log.warning(f"{name}.database_unavailable", error=repr(exc))
        await asyncio.sleep(interval_s)
