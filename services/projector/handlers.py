"""The projector's consumer: applies every stream's events once and in order, in batches."""

from __future__ import annotations

import time

import asyncpg
from prometheus_client import Counter, Histogram

from libs.events import Envelope, Event, EventStore
from services.projector.projections import PROJECTIONS

READ_MODEL_SCHEMA = "readmodel"

APPLIED = Counter(
    "viralspot_projector_events_applied_total", "Events applied to the read models", ["event_type"]
)
LAG_SECONDS = Histogram(
    "viralspot_projector_lag_seconds",
    "From an event's occurrence to its projection",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


class Projector:
    """Keeps a version checkpoint per stream: an event at or below it is a duplicate and is skipped; an
    event beyond the next version means an earlier one is still in flight (a retry, a redelivery), so
    the missing ones are read from the store and applied first. Every table thus sees each stream's
    events exactly once and in stream order."""

    def __init__(self, store: EventStore, schema: str = READ_MODEL_SCHEMA) -> None:
        self.store = store
        self.schema = schema
        self.applied = 0

    async def apply_batch(self, conn: asyncpg.Connection, items: list[tuple[Envelope, Event]]) -> None:
        if not items:
            return
        await conn.execute(f"SET LOCAL search_path TO {self.schema}, public")
        streams = sorted({e.stream_id for e, _ in items})
        await conn.execute(
            """INSERT INTO stream_checkpoints (stream_id, version) SELECT unnest($1::text[]), 0
               ON CONFLICT DO NOTHING""",
            streams,
        )
        rows = await conn.fetch(
            """SELECT stream_id, version FROM stream_checkpoints WHERE stream_id = ANY($1::text[])
               ORDER BY stream_id FOR UPDATE""",
            streams,
        )
        versions = {r["stream_id"]: r["version"] for r in rows}
        before = dict(versions)
        for envelope, _ in items:
            current = versions[envelope.stream_id]
            if envelope.stream_version <= current:
                continue
            if envelope.stream_version > current + 1:
                for missing in await self.store.read_stream(
                    conn, envelope.stream_id, from_version=current + 1, to_version=envelope.stream_version - 1
                ):
                    await self._apply(conn, missing)
            await self._apply(conn, envelope)
            versions[envelope.stream_id] = envelope.stream_version
        changed = [s for s in streams if versions[s] != before[s]]
        if changed:
            await conn.execute(
                """UPDATE stream_checkpoints c SET version = v.version
                   FROM unnest($1::text[], $2::int[]) AS v(stream_id, version)
                   WHERE c.stream_id = v.stream_id""",
                changed,
                [versions[s] for s in changed],
            )

    async def _apply(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        projection = PROJECTIONS.get(envelope.event_type)
        if projection is not None:
            await projection(conn, envelope)
        self.applied += 1
        APPLIED.labels(envelope.event_type).inc()
        LAG_SECONDS.observe(max(0.0, time.time() - envelope.occurred_at.timestamp()))
