"""A batch's projections written in a few round trips: their statements are taken down, not sent one
by one, and the same statement of many events goes to PostgreSQL as one pipelined executemany.

The projections only write (execute, executemany; nothing they do reads an answer back), so they can
run against a Recorder standing in for the connection. A batch is cut into waves: wave k holds the
k-th event of each stream in the batch, so a stream's events stay in order, one wave after the other.
Within a wave the events are of different streams, which the projections already treat as independent:
the live projector receives streams interleaved in any order (redeliveries, retries, several relays),
and a rebuild in commit order gives the same tables (`viralspot readmodels compare` checks it). Each
event's own statements keep their order; across the wave's events the same statement is sent once,
with every event's arguments."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

Args = tuple[Any, ...]


class Recorder:
    """Takes down one event's statements at a time, in order, consecutive runs of one statement merged."""

    def __init__(self) -> None:
        self.events: list[list[tuple[str, list[Args]]]] = []

    def begin(self) -> None:
        self.events.append([])

    async def execute(self, sql: str, *args: Any) -> str:
        self._add(sql, [args])
        return ""

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._add(sql, [tuple(r) for r in rows])

    def _add(self, sql: str, rows: list[Args]) -> None:
        if not rows:
            return
        statements = self.events[-1]
        if statements and statements[-1][0] == sql:
            statements[-1][1].extend(rows)
        else:
            statements.append((sql, rows))


async def send(conn: asyncpg.Connection, recorder: Recorder) -> int:
    """The recorded statements, each event's in its order: at every turn the statement that most
    events have next goes out once for all of them. Returns the number of statements sent."""
    queues = [deque(statements) for statements in recorder.events if statements]
    sent = 0
    while queues:
        heads = Counter(q[0][0] for q in queues)
        sql = max(heads, key=heads.__getitem__)  # the first seen among equals: deterministic
        rows: list[Args] = []
        for q in queues:
            if q[0][0] == sql:
                rows += q.popleft()[1]
        queues = [q for q in queues if q]
        if len(rows) == 1:
            await conn.execute(sql, *rows[0])
        else:
            await conn.executemany(sql, rows)
        sent += 1
    return sent


def waves(streams: Sequence[str]) -> list[list[int]]:
    """Indexes of a batch's events by wave: wave k holds each stream's k-th event, in batch order."""
    out: list[list[int]] = []
    seen: Counter[str] = Counter()
    for i, stream in enumerate(streams):
        k = seen[stream]
        seen[stream] += 1
        if k == len(out):
            out.append([])
        out[k].append(i)
    return out
