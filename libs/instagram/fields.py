"""Reading values out of loosely shaped JSON: first present field, nested paths, lenient numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

WRAPPERS = ("data", "user", "graphql", "shortcode_media", "result")


def unwrap(payload: Any, markers: tuple[str, ...]) -> Any:
    """Step through `data`/`user`/`graphql` wrappers until a level carries one of the markers."""
    current = payload
    for _ in range(4):
        if not isinstance(current, dict) or any(key in current for key in markers):
            return current
        inner = next((current[key] for key in WRAPPERS if key in current), None)
        if not isinstance(inner, dict | list):
            return current
        current = inner
    return current


def first(source: dict[str, Any], *paths: str | tuple[str | int, ...]) -> Any:
    """The first path whose value is present and not null."""
    for path in paths:
        value = dig(source, path if isinstance(path, tuple) else (path,))
        if value is not None:
            return value
    return None


def dig(source: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(source, list) or len(source) <= step:
                return None
            source = source[step]
        elif isinstance(source, dict):
            source = source.get(step)
        else:
            return None
    return source


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        if isinstance(value, float):
            return int(value)
        if isinstance(value, str):
            cleaned = value.strip().replace(",", "")
            return int(cleaned) if cleaned.isdigit() else int(float(cleaned))
    except (ValueError, OverflowError):
        return None
    return None


def as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    seconds = as_int(value)
    if seconds is not None:
        # Some payloads give milliseconds; no reel was published after the year 5000.
        if seconds > 100_000_000_000:
            seconds //= 1000
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (ValueError, OverflowError, OSError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_optional_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
