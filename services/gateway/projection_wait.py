"""Waiting, bounded, for a worker's answer to be projected: a request that asked for a fetch answers
as soon as the read model shows the result, or gives up at its deadline (the caller answers 202).

The process's live queue (live.py) hands every result event over as it is published, by its stream
id; the projector writes it within milliseconds after, so a woken waiter looks again at short
intervals for a moment. Without a wake (a live message dropped, another replica's listener) it still
looks every POLL_S: the read model decides, the wake only makes it sooner. Waiting holds no database
connection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

T = TypeVar("T")

POLL_S = 0.5
# After a wake: how often and how long to look again while the projector catches up.
FOLLOW_UP_S = 0.02
FOLLOW_UP_FOR_S = 1.0


class ProjectionWaits:
    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}

    def __len__(self) -> int:
        return sum(len(events) for events in self._waiting.values())

    def wake(self, stream_id: str) -> None:
        for woken in self._waiting.get(stream_id, ()):
            woken.set()

    async def until(
        self, stream_id: str, projected: Callable[[], Awaitable[T | None]], timeout_s: float
    ) -> T | None:
        """`projected()`'s first answer that is not None, or None once `timeout_s` has passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        woken = asyncio.Event()
        self._waiting.setdefault(stream_id, set()).add(woken)
        follow_up_until = 0.0
        try:
            while (found := await projected()) is None:
                now = loop.time()
                if now >= deadline:
                    return None
                if now < follow_up_until:
                    await asyncio.sleep(min(FOLLOW_UP_S, deadline - now))
                    continue
                try:
                    await asyncio.wait_for(woken.wait(), min(POLL_S, deadline - now))
                except TimeoutError:
                    continue
                woken.clear()
                follow_up_until = loop.time() + FOLLOW_UP_FOR_S
            return found
        finally:
            waiting = self._waiting[stream_id]
            waiting.discard(woken)
            if not waiting:
                del self._waiting[stream_id]


WAITS = web.AppKey("projection_waits", ProjectionWaits)
