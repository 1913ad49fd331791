"""The simulator's switches, settable at start (arguments, environment) and at runtime (/__sim/config)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any


@dataclass
class SimulatorConfig:
    seed: int = 42
    latency_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit_per_minute: int = 0
    # Tests shrink the window so a 429 clears in a second instead of a minute.
    rate_limit_window_s: float = 60.0
    # Reels are dated backwards from this instant; None means today at 00:00 UTC, so the data is
    # stable within a day and a creator always has reels from the last week.
    now: datetime | None = field(default=None)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SimulatorConfig:
        env = os.environ if env is None else env
        return cls(
            seed=int(env.get("SIM_SEED") or 42),
            latency_ms=float(env.get("SIM_LATENCY_MS") or 0),
            error_rate=float(env.get("SIM_ERROR_RATE") or 0),
            rate_limit_per_minute=int(env.get("SIM_RATE_LIMIT_PER_MINUTE") or 0),
            now=_parse_time(env.get("SIM_NOW")),
        )

    def reference_time(self) -> datetime:
        if self.now is not None:
            return self.now if self.now.tzinfo else self.now.replace(tzinfo=UTC)
        return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    def updated(self, changes: Mapping[str, Any]) -> SimulatorConfig:
        """A copy with the given switches changed; unknown keys are an error, not silently ignored."""
        unknown = set(changes) - {*_SWITCH_TYPES, "now"}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {
            key: _SWITCH_TYPES[key](value) for key, value in changes.items() if key != "now"
        }
        if "now" in changes:
            values["now"] = _parse_time(changes["now"])
        config = replace(self, **values)
        if not 0.0 <= config.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if config.latency_ms < 0 or config.rate_limit_per_minute < 0 or config.rate_limit_window_s <= 0:
            raise ValueError("latency_ms and rate_limit_per_minute must be >= 0, rate_limit_window_s > 0")
        return config

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["now"] = self.reference_time().isoformat()
        return data


_SWITCH_TYPES: dict[str, type[int] | type[float]] = {
    "seed": int,
    "latency_ms": float,
    "error_rate": float,
    "rate_limit_per_minute": int,
    "rate_limit_window_s": float,
}


def _parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
