"""A batch's projections written in a few round trips: their statements are taken down, not sent one
by one, and the same statement of many events goes to PostgreSQL as one pipelined executemany.

The projections only write (execute, executemany; nothing they do reads an answer back), so they can
run against a Recorder standing in for the connection. A batch is cut into waves: wave k holds the
k-th event of each stream in the batch, so a stream's events stay in order, one wave after the other.
Within a wave the events are of different streams, which the projections already treat as independent:
the live projector receives streams interleaved in any order (redeliveries, retries, several relays),
and a rebuild in commit order gives the same tables (`viralspot readmodels compare` checks it). Each
event's own statements keep their order; across the wave's events the same statement is sent once,
with every event's arguments.

Some statements are columnar (`columnar`): every argument that varies per row written is an array of
one entry per row, so the calls of many events are one statement, their arrays joined: one execution
for the wave instead of one per event. Joining keeps what sending the calls one after the other gives
as long as the calls joined touch different keys (the argument `key` names, an array): a call naming
a key that an earlier call of the group names starts another statement, sent after it. Calls whose
other (scalar) arguments differ are not joined either."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

Args = tuple[Any, ...]

# Columnar statements: the index of the argument holding the keys of the rows written, or None when
# calls naming the same rows write the same values whatever their order (may be joined whatever they name).
_COLUMNAR: dict[str, int | None] = {}


def columnar(sql: str, key: int | None = 0) -> str:
    """`sql` registered as columnar (the module's docstring): returned as it is, for a module constant.

    Only for a statement whose row of a key depends on nothing but that key's rows and tables it does
    not write, so that calls on different keys give the same rows in any order, or all at once; its
    arrays passed as lists (any other argument is a scalar, the same in every call joined)."""
    _COLUMNAR[sql] = key
    return sql


def joined(sql: str, calls: list[Args]) -> list[Args]:
    """The calls of a columnar statement as few calls as sending them in order allows."""
    key = _COLUMNAR[sql]
    out: list[Args] = []
    shape: Args | None = None  # the group's scalars, its arrays' places as _ARRAY
    arrays: list[list[Any]] = []
    keys: set[Any] = set()
    for call in calls:
        mine = tuple(_ARRAY if isinstance(a, list) else a for a in call)
        named = call[key] if key is not None else ()
        if mine != shape or not keys.isdisjoint(named):
            if shape is not None:
                out.append(_call(shape, arrays))
            shape, arrays, keys = mine, [[] for a in call if isinstance(a, list)], set()
        for column, a in zip(arrays, (a for a in call if isinstance(a, list)), strict=True):
            column.extend(a)
        keys.update(named)
    if shape is not None:
        out.append(_call(shape, arrays))
    return out


_ARRAY = object()


def _call(shape: Args, arrays: list[list[Any]]) -> Args:
    columns = iter(arrays)
    return tuple(next(columns) if a is _ARRAY else a for a in shape)


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
        if len(rows) > 1 and sql in _COLUMNAR:
            rows = joined(sql, rows)
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
