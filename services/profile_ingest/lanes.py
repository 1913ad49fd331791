"""HIGH pauses LOW (seed 002): LOW requests wait in a lane of their own while HIGH or MEDIUM work is in hand.

One priority queue is not enough: a HIGH request overtakes the LOW ones still queued, but not the LOW
fetches already running, which hold every slot of the consumer's window, so it waits for one of them
to finish. So LOW requests are moved, as they arrive, from the work queue to their lane's queue
(libs.events.topology's profile-ingest-low), and the work queue keeps its whole window for HIGH and
MEDIUM: such a request starts at once, beside at most INGEST_CONCURRENCY LOW fetches that were
already running. Those finish (none is interrupted, so nothing is fetched twice), and no new LOW fetch
starts until this process has no HIGH or MEDIUM work in hand. A LOW message held at the gate stays
unacked: a crash or a stop hands it back to its queue.

The gate is per process: each replica pauses its own LOW lane for its own HIGH work, which is what
keeps that work from waiting; another replica's LOW fetches do not hold it up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge

from libs.events.catalog import Event

LOW_LANE = "profile-ingest-low"

PRIORITY_WORK = Gauge(
    "viralspot_ingest_priority_work", "HIGH and MEDIUM profile requests this process is working on"
)
LOW_PAUSED_SECONDS = Counter(
    "viralspot_ingest_low_paused_seconds_total",
    "Time LOW profile requests waited at the gate while HIGH or MEDIUM work was in hand",
)


def lane_of(event: Event) -> str | None:
    """The work queue's divert: LOW requests go to their lane."""
    return LOW_LANE if getattr(event, "priority", None) == "LOW" else None


class HighFirst:
    """Closed while any HIGH or MEDIUM request is being worked on in this process."""

    def __init__(self) -> None:
        self._in_hand = 0
        self._open = asyncio.Event()
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._in_hand == 0

    @contextmanager
    def working(self) -> Iterator[None]:
        self._in_hand += 1
        PRIORITY_WORK.inc()
        self._open.clear()
        try:
            yield
        finally:
            self._in_hand -= 1
            PRIORITY_WORK.dec()
            if self._in_hand == 0:
                self._open.set()

    async def wait_open(self) -> None:
        """The LOW lane's admit: returns once no HIGH or MEDIUM work is in hand."""
        if self.is_open:
            return
        started = time.perf_counter()
        # Woken waiters run after the setter; HIGH work may have arrived in between, so look again.
        while not self.is_open:
            await self._open.wait()
        LOW_PAUSED_SECONDS.inc(time.perf_counter() - started)
