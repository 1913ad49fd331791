"""How events and progress are printed: one compact line per event, or one JSON object per line."""

from __future__ import annotations

import sys
import time
from typing import Any

import orjson

from libs.events.envelope import Envelope


def event_line(e: Envelope) -> str:
    stamp = e.occurred_at.isoformat(timespec="milliseconds")
    return (
        f"{stamp}  {e.event_type:<24} {e.stream_id}@{e.stream_version}  producer={e.producer}"
        f"  id={e.event_id}  corr={e.correlation_id}"
    )


def json_line(e: Envelope, **extra: Any) -> str:
    if not extra:
        return e.to_json().decode()
    return orjson.dumps({**e.model_dump(mode="json"), **extra}).decode()


def emit(line: str) -> None:
    # Flushed per line, so a pipe (grep, jq, a test) sees each event as it arrives.
    print(line, flush=True)


class Progress:
    """A line on stderr every `every` items or every few seconds, whichever comes first."""

    def __init__(
        self, what: str, total: int | None = None, every: int = 500, interval_s: float = 2.0
    ) -> None:
        self.what = what
        self.total = total
        self.every = every
        self.interval_s = interval_s
        self.done = 0
        self._printed_at = 0
        self._last = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.done - self._printed_at >= self.every or now - self._last >= self.interval_s:
            self._print()
            self._last = now
            self._printed_at = self.done

    def finish(self) -> None:
        if self.done != self._printed_at:
            self._print()

    def _print(self) -> None:
        of = f"/{self.total}" if self.total is not None else ""
        print(f"{self.what}: {self.done}{of}", file=sys.stderr, flush=True)
