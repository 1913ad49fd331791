"""The status endpoints' answers kept in memory, each checked against the projector before it is served.

The rule: an answer is served from memory only when the projector's checkpoint of the answer's stream,
read in a snapshot taken after the request arrived, equals the version the answer was read at. The
answer's rows and that version come from one statement (one snapshot), and the projector writes a
stream's rows and its checkpoint in one transaction, so equal versions mean equal rows: whatever the
projector had committed when the request arrived is in the answer.

Why not invalidate on the events of the live queue alone: the broker hands this process an event before
the projector commits it (an answer read in between would be kept old), and a commit notification
reaches this process some time after the commit (an answer served in between would be old). Both gaps
close only by asking the database after the request arrived; what is made cheap is the asking. The
requests of one event-loop turn share one query (VersionProbe), sent after they all arrived; none joins
a query already sent, whose snapshot may predate it. One index look-up per batch of polls replaces each
poll's joined read and its encoding.

So a gateway that lost its live queue, one of several replicas, or one running beside a rebuild swap
(the swapped-in schema is at each stream's version or beyond) needs nothing more: each checks its own
entries against the database the other replicas and the projector write.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import Counter, Gauge

from libs.events.db import FairPool

CACHE_READS = Counter(
    "viralspot_status_cache_reads_total",
    "Status reads by outcome: hit (served from memory), miss (read from the database), stale (an entry "
    "the projector had moved past, dropped and read again)",
    ["endpoint", "outcome"],
)
CACHE_ENTRIES = Gauge("viralspot_status_cache_entries", "Status answers kept in memory", ["endpoint"])
PROBES = Counter(
    "viralspot_status_cache_probes_total", "Checkpoint queries sent, each for every read waiting then"
)

# Bound once: labels() takes a lock and hashes its values, on every poll otherwise.
_OUTCOMES = {
    (endpoint, outcome): CACHE_READS.labels(endpoint, outcome)
    for endpoint in ("job", "profile")
    for outcome in ("hit", "miss", "stale")
}

_CHECKPOINTS = """SELECT stream_id, version FROM readmodel.stream_checkpoints
                  WHERE stream_id = ANY($1::text[])"""


@dataclass(slots=True)
class Entry:
    """An answer at one version of its stream. `body` is the whole encoded answer when it does not depend
    on the time; otherwise `parts` keep what was read, for the view to finish per request."""

    stream: str
    version: int
    body: bytes | None = None
    parts: dict[str, Any] = field(default_factory=dict)


class VersionProbe:
    """The projected versions of the streams reads ask about: the reads of one turn of the event loop
    share one query, sent after all of them arrived; a read arriving while queries are in flight waits
    for a later one (at most `in_flight` at once, each on a connection of its own)."""

    def __init__(self, pool: FairPool, in_flight: int = 4) -> None:
        # Past the fair queue: a probe holds a connection for one look-up, and every waiting poll is
        # behind it.
        self.pool = pool.pool
        self.in_flight = in_flight
        self._waiting: dict[str, list[asyncio.Future[int]]] = {}
        self._sending = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def version(self, stream: str) -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(stream, []).append(future)
        self._schedule()
        return await future

    def _schedule(self) -> None:
        if not self._scheduled and self._sending < self.in_flight:
            self._scheduled = True
            # On the next turn: the reads this turn wakes all join the query.
            asyncio.get_running_loop().call_soon(self._send)

    def _send(self) -> None:
        self._scheduled = False
        if not self._waiting:
            return
        # Taken before the query goes out: who arrives from now on waits for a later one.
        batch, self._waiting = self._waiting, {}
        self._sending += 1
        task = asyncio.create_task(self._query(batch), name="status-cache-probe")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _query(self, batch: dict[str, list[asyncio.Future[int]]]) -> None:
        PROBES.inc()
        try:
            rows = await self.pool.fetch(_CHECKPOINTS, list(batch))
        except Exception as failed:
            for futures in batch.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(failed)
            return
        finally:
            self._sending -= 1
            if self._waiting:
                self._schedule()
        versions = {r["stream_id"]: r["version"] for r in rows}
        for stream, futures in batch.items():
            for future in futures:
                if not future.done():  # a request that left meanwhile
                    future.set_result(versions.get(stream, 0))


class StatusCache:
    """A bounded LRU of entries per endpoint; capacity 0 keeps nothing (STATUS_CACHE_ENTRIES=0)."""

    def __init__(self, pool: FairPool, capacity: int) -> None:
        self.capacity = capacity
        self.probe = VersionProbe(pool)
        self._entries: OrderedDict[tuple[str, str], Entry] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def __len__(self) -> int:
        return len(self._entries)

    async def current(self, endpoint: str, key: str) -> Entry | None:
        """The entry if the projector has not moved its stream on since it was read; else None (a miss,
        or a stale entry, dropped)."""
        entry = self._entries.get((endpoint, key))
        if entry is None:
            _OUTCOMES[(endpoint, "miss")].inc()
            return None
        if await self.probe.version(entry.stream) != entry.version:
            if self._entries.get((endpoint, key)) is entry:
                del self._entries[(endpoint, key)]
                CACHE_ENTRIES.labels(endpoint).dec()
            _OUTCOMES[(endpoint, "stale")].inc()
            return None
        if (endpoint, key) in self._entries:
            self._entries.move_to_end((endpoint, key))
        _OUTCOMES[(endpoint, "hit")].inc()
        return entry

    def keep(self, endpoint: str, key: str, entry: Entry) -> None:
        """A read's answer; an entry of a later version kept meanwhile by a concurrent read stays."""
        if not self.enabled:
            return
        slot = (endpoint, key)
        held = self._entries.get(slot)
        if held is not None:
            if held.version > entry.version:
                return
            self._entries[slot] = entry
            self._entries.move_to_end(slot)
            return
        self._entries[slot] = entry
        CACHE_ENTRIES.labels(endpoint).inc()
        if len(self._entries) > self.capacity:
            (old_endpoint, _), _ = self._entries.popitem(last=False)
            CACHE_ENTRIES.labels(old_endpoint).dec()


STATUS_CACHE = web.AppKey("status_cache", StatusCache)
