"""Runtime switches and bookkeeping: injected failures, the rate limit window, request counts."""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from typing import Any

from .config import SimulatorConfig
from .draws import rng_for


@dataclass
class FailurePlan:
    remaining: int
    status: int
    retry_after_s: int
    delay_ms: float


class SimulatorState:
    def __init__(self, config: SimulatorConfig) -> None:
        self.initial = config
        self.reset()

    def reset(self) -> None:
        """Back to the start configuration, with no pending failures and no counts."""
        self.config = self.initial
        self.failures: dict[str, FailurePlan] = {}
        self._admitted: deque[float] = deque()
        self._fault_rng = rng_for(self.config.seed, "faults")
        self.by_endpoint: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.by_username: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.total = 0

    def configure(self, changes: dict[str, Any]) -> None:
        self.config = self.config.updated(changes)
        if "seed" in changes:
            self._fault_rng = rng_for(self.config.seed, "faults")

    def plan_failures(
        self, username: str, times: int, status: int, retry_after_s: int = 1, delay_ms: float = 0
    ) -> None:
        if times <= 0:
            self.failures.pop(username, None)
            return
        self.failures[username] = FailurePlan(times, status, retry_after_s, delay_ms)

    def take_failure(self, username: str | None) -> FailurePlan | None:
        plan = self.failures.get(username) if username else None
        if username is None or plan is None:
            return None
        plan.remaining -= 1
        if plan.remaining <= 0:
            del self.failures[username]
        return plan

    def random_failure(self) -> int | None:
        if self.config.error_rate <= 0 or self._fault_rng.random() >= self.config.error_rate:
            return None
        return self._fault_rng.choice((500, 502, 503))

    def admit(self) -> int | None:
        """None if the request fits this window's budget, else the seconds to wait (Retry-After)."""
        limit = self.config.rate_limit_per_minute
        if limit <= 0:
            return None
        window = self.config.rate_limit_window_s
        now = time.monotonic()
        while self._admitted and self._admitted[0] <= now - window:
            self._admitted.popleft()
        if len(self._admitted) >= limit:
            return max(1, math.ceil(self._admitted[0] + window - now))
        self._admitted.append(now)
        return None

    def record(self, endpoint: str, status: int, username: str | None) -> None:
        self.total += 1
        self.by_endpoint[endpoint][str(status)] += 1
        self.by_endpoint[endpoint]["total"] += 1
        if username:
            self.by_username[username][str(status)] += 1
            self.by_username[username]["total"] += 1

    def stats(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_endpoint": {name: dict(counts) for name, counts in self.by_endpoint.items()},
            "by_username": {name: dict(counts) for name, counts in self.by_username.items()},
            "pending_failures": {
                name: {"remaining": plan.remaining, "status": plan.status}
                for name, plan in self.failures.items()
            },
            "config": self.config.as_json(),
        }
