"""The event store: append with an expected version, read a stream, tail everything in commit order."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import asyncpg
import orjson

from libs.events.envelope import Envelope, NewerSchemaVersion, NewEvent, PoisonMessage

# Far below RabbitMQ's max_message_size (128 MiB by default): the largest real event (a profile with
# 200 reels, a completed analysis) is a few hundred KiB; anything near this is a bug or an attack.
MAX_EVENT_BYTES = 2 * 1024 * 1024


class UnpublishableEvent(ValueError):
    """An event the relay could not send (not encodable, or too large): refused before it is appended."""


def check_publishable(envelope: Envelope) -> None:
    """What the relay will do with the event, done now: encode it the same way and bound its size."""
    try:
        body = envelope.to_json()
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise UnpublishableEvent(f"{envelope.event_type} cannot be encoded: {exc}") from exc
    if len(body) > MAX_EVENT_BYTES:
        raise UnpublishableEvent(f"{envelope.event_type} is {len(body)} bytes, over {MAX_EVENT_BYTES}")


# How often a decision is taken again when another writer appended to its stream first; beyond that
# the stream is too busy and the caller gives up (a 503, or a retry of the message later).
CONFLICT_ATTEMPTS = 10

R = TypeVar("R")


async def retry_on_conflict(attempt: Callable[[], Awaitable[R]], attempts: int = CONFLICT_ATTEMPTS) -> R:
    """Decide-append-retry: run `attempt` (read the stream, decide, append at the version read) again
    for as long as another writer got there first (WrongExpectedVersion), up to `attempts` times."""
    for _ in range(attempts - 1):
        try:
            return await attempt()
        except WrongExpectedVersion:
            continue
    return await attempt()


def _payload(new: NewEvent) -> dict:
    try:
        return new.event.model_dump(mode="json")
    except ValueError as exc:  # pydantic stops at a nesting depth the encoders would refuse too
        raise UnpublishableEvent(f"{new.event.event_type} cannot be encoded: {exc}") from exc


class WrongExpectedVersion(Exception):
    """Another writer appended to the stream first: re-read it and decide again."""

    def __init__(self, stream_id: str, expected: int | None) -> None:
        super().__init__(f"stream {stream_id} is not at version {expected}")
        self.stream_id = stream_id
        self.expected = expected


@dataclass(frozen=True, order=True)
class Position:
    """A point in the whole store. Ordered by writer transaction first, so late commits are not skipped."""

    tx_id: int = 0
    position: int = 0


@dataclass(frozen=True)
class RecordedEvent:
    position: Position
    envelope: Envelope
    published_at: datetime | None


_INSERT = """
INSERT INTO eventstore.events (event_id, stream_id, stream_version, event_type, schema_version,
                               occurred_at, producer, correlation_id, causation_id, payload, metadata)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[], $6::timestamptz[],
                     $7::text[], $8::uuid[], $9::uuid[], $10::jsonb[], $11::jsonb[])
"""

_COLUMNS = """event_id, event_type, schema_version, occurred_at, producer, stream_id, stream_version,
              correlation_id, causation_id, payload"""
_COLUMNS_WITHOUT = """event_id, event_type, schema_version, occurred_at, producer, stream_id, stream_version,
                      correlation_id, causation_id, payload - $4::text[] AS payload"""


def _envelope(row: asyncpg.Record) -> Envelope:
    """A stored event as this code reads it: an older version upcast to the current one, so that code
    reading the payload (a fold, a projection) never sees an old shape."""
    stored = Envelope.model_construct(
        event_id=row["event_id"],
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        occurred_at=row["occurred_at"],
        producer=row["producer"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
        payload=row["payload"],
    )
    try:
        return stored.upcast()
    except (NewerSchemaVersion, PoisonMessage):
        return stored  # as written: its event() says why this code cannot read it


class EventStore:
    """Stateless access to eventstore.events; every call runs on the caller's connection and transaction."""

    def __init__(self, producer: str) -> None:
        self.producer = producer

    async def append(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None,
        correlation_id: uuid.UUID | None = None,
        causation_id: uuid.UUID | None = None,
    ) -> list[Envelope]:
        """Append after `expected_version` (0 = the stream must be new; None = wherever it ends now).

        Raises WrongExpectedVersion when another writer got there first. The caller's transaction
        is then aborted, as it must be: its decision was taken on a stale stream.
        """
        if not events:
            return []
        if expected_version is None:
            expected_version = await self.stream_version(conn, stream_id)
        correlation_id = correlation_id or events[0].event_id
        envelopes = [
            Envelope(
                event_id=new.event_id,
                event_type=new.event.event_type,
                schema_version=new.event.schema_version,
                occurred_at=new.occurred_at,
                producer=self.producer,
                stream_id=stream_id,
                stream_version=expected_version + i + 1,
                correlation_id=correlation_id,
                causation_id=causation_id,
                payload=_payload(new),
            )
            for i, new in enumerate(events)
        ]
        for envelope in envelopes:
            check_publishable(envelope)
        try:
            await conn.execute(
                _INSERT,
                [e.event_id for e in envelopes],
                [e.stream_id for e in envelopes],
                [e.stream_version for e in envelopes],
                [e.event_type for e in envelopes],
                [e.schema_version for e in envelopes],
                [e.occurred_at for e in envelopes],
                [e.producer for e in envelopes],
                [e.correlation_id for e in envelopes],
                [e.causation_id for e in envelopes],
                [e.payload for e in envelopes],
                [new.metadata for new in events],
            )
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "events_stream_version_unique":
                raise WrongExpectedVersion(stream_id, expected_version) from exc
            raise
        return envelopes

    async def commit(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        writes: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
        correlation_id: uuid.UUID | None = None,
        causation_id: uuid.UUID | None = None,
    ) -> list[Envelope]:
        """A worker's own state change and its events, in one transaction, at the stream's end.

        Several services append to one stream (the gateway a promotion, a worker its progress), so a
        conflict here only means "someone appended meanwhile": the whole transaction is tried again.
        """

        async def attempt() -> list[Envelope]:
            async with conn.transaction():
                if writes is not None:
                    await writes(conn)
                return await self.append(
                    conn,
                    stream_id,
                    events,
                    expected_version=None,
                    correlation_id=correlation_id,
                    causation_id=causation_id,
                )

        return await retry_on_conflict(attempt)

    async def stream_version(self, conn: asyncpg.Connection, stream_id: str) -> int:
        version = await conn.fetchval(
            "SELECT max(stream_version) FROM eventstore.events WHERE stream_id = $1", stream_id
        )
        return version or 0

    async def read_stream(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        without: Sequence[str] = (),
    ) -> list[Envelope]:
        """The stream's events in order. `without`: payload keys left in the database, for a reader that
        never looks at them (a decision's fold does not read a profile's reel snapshots, which are
        nearly all of its stream's bytes); such payloads are partial, so only for folds."""
        # An empty list removes nothing (PostgreSQL hands the payload back as it is).
        rows = await conn.fetch(
            f"""SELECT {_COLUMNS_WITHOUT} FROM eventstore.events
                WHERE stream_id = $1 AND stream_version >= $2 AND stream_version <= $3
                ORDER BY stream_version""",
            stream_id,
            from_version,
            to_version if to_version is not None else 2**31 - 1,
            list(without),
        )
        return [_envelope(r) for r in rows]

    async def read_all(
        self, conn: asyncpg.Connection, *, after: Position = Position(), limit: int = 1000
    ) -> list[RecordedEvent]:
        """Events after `after`, in (transaction, position) order, up to the oldest running transaction.

        Rows of a transaction that is still running (or began before one that is) are held back until
        it ends, so a checkpoint taken from the last row returned never skips a late commit.
        """
        rows = await conn.fetch(
            f"""SELECT tx_id::text::bigint AS tx, position, published_at, {_COLUMNS}
                FROM eventstore.events
                WHERE (tx_id, position) > ($1::text::xid8, $2)
                  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
                ORDER BY tx_id, position
                LIMIT $3""",
            str(after.tx_id),
            after.position,
            limit,
        )
        return [
            RecordedEvent(Position(r["tx"], r["position"]), _envelope(r), r["published_at"]) for r in rows
        ]

    async def read_correlation(self, conn: asyncpg.Connection, correlation_id: uuid.UUID) -> list[Envelope]:
        rows = await conn.fetch(
            f"""SELECT {_COLUMNS} FROM eventstore.events WHERE correlation_id = $1
                ORDER BY occurred_at, position""",
            correlation_id,
        )
        return [_envelope(r) for r in rows]
