"""Backoff: the one exponential schedule every retry loop uses, full jitter for HTTP calls, Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass


def exponential(attempt: int, base_s: float, max_s: float) -> float:
    """base, 2*base, 4*base, ... for attempts 1, 2, 3, ..., never more than max_s."""
    return min(base_s * 2 ** max(attempt - 1, 0), max_s)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0

    def delay(self, attempt: int, retry_after_s: float | None, rng: random.Random) -> float:
        """Full jitter (AWS style) unless the server told us how long to wait."""
        if retry_after_s is not None:
            return min(retry_after_s, self.backoff_max_s)
        return rng.uniform(0, exponential(attempt, self.backoff_base_s, self.backoff_max_s))


def retry_after_s(value: str | None) -> float | None:
    """A Retry-After header in seconds; only the numeric form (an HTTP-date falls back to backoff)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)
