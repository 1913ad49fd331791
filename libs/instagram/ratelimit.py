"""A client-side budget so we slow ourselves down before the provider answers 429."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """`per_minute` requests a minute, refilled continuously; 0 turns the limit off.

    Waiters queue on a lock and sleep with asyncio, so other tasks keep running meanwhile.
    """

    def __init__(
        self, per_minute: float, *, burst: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self.capacity = float(burst if burst is not None else max(1, int(per_minute)))
        self._rate_per_s = per_minute / 60.0
        self._tokens = self.capacity
        self._clock = clock
        self._updated = clock()
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    async def acquire(self) -> float:
        """Take one token, waiting for it if needed; returns how long we waited, in seconds."""
        if not self.enabled:
            return 0.0
        waited = 0.0
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return waited
                delay = (1 - self._tokens) / self._rate_per_s
                await asyncio.sleep(delay)
                waited += delay

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self._rate_per_s)
        self._updated = now
