"""The one loop behind every scheduled tick of a service (crawler schedule, alerts refresh)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from libs.events.db import is_database_outage

log = structlog.get_logger(__name__)


async def every(interval_s: float, tick: Callable[[], Awaitable[object]], name: str) -> None:
    """`tick` every `interval_s`, for ever: ticks start on a fixed schedule, so a tick's own work does
    not stretch the period (a budget of N per tick is N per interval); a tick longer than the interval
    is followed at once by the next, never by a burst of missed ones. A database outage is logged and
    waited out (the next tick tries again); any other error ends the loop, and with it the service, as
    a bug should."""
    loop = asyncio.get_running_loop()
    due = loop.time()
    while True:
        try:
            await tick()
        except Exception as exc:
            if not is_database_outage(exc):
                raise
            log.warning(f"{name}.database_unavailable", error=repr(exc))
        due = max(due + interval_s, loop.time())
        await asyncio.sleep(due - loop.time())
