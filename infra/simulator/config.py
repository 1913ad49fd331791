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
    # The instant the world stops being dated back from `now` and starts to grow (growth.py): None keeps
    # the world a function of `now` alone, as every test and demo written before growth expects.
    growth_from: datetime | None = field(default=None)
    # Where image URLs point (profile pictures, thumbnails, post images). None keeps the unreachable
    # cdn.simulator.invalid; set it to this simulator's own /cdn (such as http://127.0.0.1:8100/cdn) and
    # it serves the images there (cdn.py).
    cdn_url: str | None = None
    # How /cdn answers: "served" (PNG bytes), "expired" (403, as the provider's signed URLs do once they
    # expire), "not_image" (an HTML page) or "oversized" (a 12 MiB PNG).
    images: str = "served"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SimulatorConfig:
        env = os.environ if env is None else env
        return cls(
            seed=int(env.get("SIM_SEED") or 42),
            latency_ms=float(env.get("SIM_LATENCY_MS") or 0),
            error_rate=float(env.get("SIM_ERROR_RATE") or 0),
            rate_limit_per_minute=int(env.get("SIM_RATE_LIMIT_PER_MINUTE") or 0),
            now=_parse_time(env.get("SIM_NOW")),
            growth_from=_parse_time(env.get("SIM_GROWTH_FROM")),
            cdn_url=env.get("SIM_CDN_URL") or None,
        )

    def reference_time(self) -> datetime:
        if self.now is not None:
            return self.now if self.now.tzinfo else self.now.replace(tzinfo=UTC)
        return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    def reference_ts(self) -> int:
        return int(self.reference_time().timestamp())

    def growth_from_ts(self) -> int | None:
        if self.growth_from is None:
            return None
        anchor = self.growth_from if self.growth_from.tzinfo else self.growth_from.replace(tzinfo=UTC)
        return int(anchor.timestamp())

    def updated(self, changes: Mapping[str, Any]) -> SimulatorConfig:
        """A copy with the given switches changed; unknown keys are an error, not silently ignored."""
        unknown = set(changes) - {*_SWITCH_TYPES, *_TIMES, *_TEXTS}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {
            key: _SWITCH_TYPES[key](value)
            if key in _SWITCH_TYPES
            else (_TEXTS[key](value) if key in _TEXTS else _parse_time(value))
            for key, value in changes.items()
        }
        config = replace(self, **values)
        if not 0.0 <= config.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if config.latency_ms < 0 or config.rate_limit_per_minute < 0 or config.rate_limit_window_s <= 0:
            raise ValueError("latency_ms and rate_limit_per_minute must be >= 0, rate_limit_window_s > 0")
        return config

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["now"] = self.reference_time().isoformat()
        data["growth_from"] = None if self.growth_from is None else self.growth_from.isoformat()
        return data


_SWITCH_TYPES: dict[str, type[int] | type[float]] = {
    "seed": int,
    "latency_ms": float,
    "error_rate": float,
    "rate_limit_per_minute": int,
    "rate_limit_window_s": float,
}


def _cdn_url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError("cdn_url must be an http(s) URL")
    return text


def _images(value: Any) -> str:
    if value not in IMAGE_ANSWERS:
        raise ValueError(f"images must be one of {', '.join(IMAGE_ANSWERS)}")
    return str(value)


IMAGE_ANSWERS = ("served", "expired", "not_image", "oversized")
_TEXTS: dict[str, Any] = {"cdn_url": _cdn_url, "images": _images}
# Set as ISO times; null or "" unsets them (`now` back to today, `growth_from` back to no growth).
_TIMES = ("now", "growth_from")


def _parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
