"""Schema evolution: the upcasters that take a payload written at any version an event store may hold
to the version this code writes, one step (n -> n + 1) each, so handlers only ever see the current shape.

Upcasters are pure functions of the payload, written beside their event's model in catalog.py; the
chains are checked as the catalogue is imported, so a service whose chain has a gap does not start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class UpcastStep:
    """`upcast` reads a payload of `event_type` written at `from_version` and returns it at the next."""

    event_type: str
    from_version: int
    upcast: Upcaster


class UpcasterChainError(Exception):
    """The upcasters declared do not take every older version of an event type to its current one."""


def check_chains(current: Mapping[str, int], steps: Iterable[UpcastStep]) -> dict[str, tuple[Upcaster, ...]]:
    """Each event type's chain (item i reads version i + 1), for `current`: event type -> the version
    its code writes. Every problem is named at once: a duplicate, a gap, a chain that stops short of the
    current version or runs past it, an upcaster for a type the catalogue does not have."""
    problems: list[str] = []
    by_type: dict[str, dict[int, Upcaster]] = {}
    for step in steps:
        if step.event_type not in current:
            problems.append(f"{step.event_type}: an upcaster for an event type the catalogue does not have")
            continue
        known = by_type.setdefault(step.event_type, {})
        if step.from_version in known:
            problems.append(f"{step.event_type}: two upcasters from version {step.from_version}")
        known[step.from_version] = step.upcast
    for event_type, version in sorted(current.items()):
        known = by_type.get(event_type, {})
        if version < 1:
            problems.append(f"{event_type}: schema_version {version} (versions start at 1)")
            continue
        past = sorted(v for v in known if not 1 <= v < version)
        if past:
            problems.append(
                f"{event_type}: upcasters from version {_listed(past)}, but the chain ends at the current "
                f"version {version}"
            )
        missing = [v for v in range(1, version) if v not in known]
        if missing:
            problems.append(
                f"{event_type}: no upcaster from version {_listed(missing)} to the next (a gap in the chain "
                f"to the current version {version})"
            )
    if problems:
        raise UpcasterChainError("upcaster chains are broken: " + "; ".join(problems))
    return {
        t: tuple(by_type[t][v] for v in range(1, version)) for t, version in current.items() if version > 1
    }


def upcast(chain: tuple[Upcaster, ...], version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload`, written at `version`, through the rest of the chain: the current shape."""
    for step in chain[version - 1 :]:
        payload = step(payload)
    return payload


def _listed(versions: list[int]) -> str:
    return ", ".join(str(v) for v in versions)
