"""The outbox relay: publishes a service's committed events in order, with publisher confirms.

No transaction stays open while the relay talks to the broker: a batch is read in one statement,
published with a timeout on its confirms, then marked published in another. A crash in between
publishes the batch again (at least once; consumers are idempotent). One relay per producer publishes
at a time: the leader holds a session advisory lock on a connection of its own, which also LISTENs for
appends.

An event that cannot be encoded, or that the broker refuses when sent on its own, is retried a few
times with backoff and then parked in eventstore.parked_events with the reason. The stream's later
events wait behind it (per-stream order holds); every other stream goes on. `viralspot outbox retry`
or `skip` releases it. A broker that is down or blocks publishers (a memory or disk alarm) is nobody's
fault: nothing is parked, the relay backs off and the outbox waits.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from dataclasses import dataclass

import aio_pika
import aiormq
import asyncpg
import orjson
import structlog

from libs.backoff import exponential
from libs.events import broker, metrics
from libs.events.db import connect, is_database_outage
from libs.events.envelope import Envelope
from libs.events.publisher import to_message
from libs.events.topology import Topology

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "eventstore_appended"

# Unpublished events of this producer, oldest first, leaving out streams held behind a parked event
# and streams whose first event is waiting for its next attempt ($3). The payload comes as text and is
# decoded row by row, so one undecodable row cannot fail the whole batch.
_BATCH = """
SELECT position, event_id, event_type, schema_version, occurred_at, producer, stream_id, stream_version,
       correlation_id, causation_id, payload::text AS payload_text
FROM eventstore.events e
WHERE published_at IS NULL AND producer = $1 AND stream_id <> ALL($3::text[])
  AND NOT EXISTS (SELECT 1 FROM eventstore.parked_events p
                  WHERE p.producer = $1 AND p.stream_id = e.stream_id AND p.resolved_at IS NULL)
ORDER BY position LIMIT $2"""

_MARK_PUBLISHED = "UPDATE eventstore.events SET published_at = now() WHERE position = ANY($1::bigint[])"

_PARK = """
INSERT INTO eventstore.parked_events (event_id, position, producer, stream_id, event_type, reason, attempts)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (event_id) DO UPDATE SET reason = $6, attempts = $7, parked_at = now(), resolved_at = NULL,
                                     resolution = NULL"""

_PARKED_COUNT = (
    """SELECT count(*) FROM eventstore.parked_events WHERE producer = $1 AND resolved_at IS NULL"""
)
_BACKLOG = "SELECT count(*) FROM eventstore.events WHERE published_at IS NULL AND producer = $1"
_PARKED_REFRESH_S = 5.0

# What the broker says about one message in particular (its size, a nack): worth counting against it.
# Anything else (connection lost, channel errors, timeouts) is about the broker, not the event.
_REFUSALS = (aio_pika.exceptions.DeliveryError, aiormq.exceptions.ChannelPreconditionFailed)


class BrokerUnavailable(Exception):
    """The broker cannot take messages now (down, blocked by an alarm, not confirming in time)."""


@dataclass
class _Failing:
    """The first unpublished event of a stream, refused so far: retried on its own at retry_at."""

    position: int
    attempts: int
    retry_at: float
    reason: str


@dataclass(frozen=True)
class _Row:
    position: int
    envelope: Envelope | None  # None: the stored payload cannot be decoded
    event_id: object
    stream_id: str
    event_type: str


class OutboxRelay:
    def __init__(
        self,
        *,
        producer: str,
        dsn: str,
        amqp_url: str,
        topology: Topology,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        publish_timeout_s: float = 10.0,
        max_attempts: int = 5,
        retry_base_s: float = 0.5,
    ) -> None:
        self.producer = producer
        self.dsn = dsn
        self.amqp_url = amqp_url
        self.topology = topology
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.publish_timeout_s = publish_timeout_s
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self._wake = asyncio.Event()
        self._stopping = False
        self._lock_key = zlib.crc32(f"outbox-relay:{producer}".encode()) & 0x7FFFFFFF
        self._conn: asyncpg.Connection | None = None
        self._leader = False
        # A plain connection of its own: after the broker closes a channel over one refused message,
        # a robust one reopens channels by itself and raced ours (CHANNEL_ERROR closed the connection).
        self._amqp: aio_pika.abc.AbstractConnection | None = None
        self._busy = asyncio.Lock()  # one batch at a time on the relay's one connection
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self._failing: dict[str, _Failing] = {}
        self._parked: int | None = None  # unknown until counted
        self._parked_checked = 0.0
        self.published = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                await self.flush()
                failures = 0
            except Exception as exc:  # the relay must outlive any outage; it retries everything
                failures += 1
                delay = exponential(failures, 0.1, 5.0)
                transient = isinstance(exc, BrokerUnavailable | aio_pika.exceptions.AMQPError)
                level = "warning" if transient or is_database_outage(exc) else "error"
                getattr(log, level)("relay.publish_failed", error=repr(exc), retry_in_s=delay)
                metrics.RELAY_FAILURES.labels(self.producer).inc()
                await self._reset(database=not transient, broker=transient)
                await asyncio.sleep(delay)
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self._next_wait_s())
            except TimeoutError:
                pass
            self._wake.clear()
        try:
            await asyncio.wait_for(self.flush(), 10)
        except Exception as exc:
            log.warning("relay.final_flush_failed", error=repr(exc))
        await self._reset(database=True, broker=True)

    async def stop(self) -> None:
        """Stop after a last drain, so events committed before shutdown still go out."""
        self._stopping = True
        self._wake.set()

    async def flush(self) -> None:
        """Publish everything publishable committed so far (used at shutdown and by tests)."""
        while await self.publish_batch() == self.batch_size:
            pass

    def _next_wait_s(self) -> float:
        if not self._failing:
            return self.poll_interval_s
        due = min(f.retry_at for f in self._failing.values()) - time.monotonic()
        return max(0.01, min(self.poll_interval_s, due))

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many rows it read (a full batch means: call again)."""
        async with self._busy:
            conn = await self._connection()
            if not await self._lead(conn):
                return 0  # another replica of this service is publishing
            started = time.perf_counter()
            now = time.monotonic()
            waiting = [s for s, f in self._failing.items() if f.retry_at > now]
            records = await conn.fetch(_BATCH, self.producer, self.batch_size, waiting)
            if not records:
                await self._report(conn, full=False)
                return 0
            rows = [_decode(r) for r in records]
            published = await self._publish(conn, rows)
            if published:
                await conn.execute(_MARK_PUBLISHED, [r.position for r in published])
            for row in published:
                assert row.envelope is not None
                metrics.EVENTS_PUBLISHED.labels(self.producer, row.event_type).inc()
                self._failing.pop(row.stream_id, None)
            self.published += len(published)
            metrics.RELAY_BATCH_SECONDS.labels(self.producer).observe(time.perf_counter() - started)
            await self._report(conn, full=len(records) == self.batch_size)
            return len(records)

    async def _publish(self, conn: asyncpg.Connection, rows: list[_Row]) -> list[_Row]:
        """The rows that reached the broker. Confirms are awaited together; when some fail, those are
        sent again one at a time, so the one the broker refuses is told apart from its neighbours."""
        sendable: list[tuple[_Row, aio_pika.Message]] = []
        held: set[str] = set()
        for row in rows:
            if row.stream_id in held:
                continue
            try:
                if row.envelope is None:
                    raise ValueError("the stored payload is not decodable JSON")
                sendable.append((row, to_message(row.envelope)))
            except Exception as exc:  # it will not encode however often we try
                await self._park(conn, row, f"cannot be encoded: {exc}", attempts=1)
                held.add(row.stream_id)
        results = await self._send(sendable)
        if all(r is None for r in results):
            return [row for row, _ in sendable]
        # A refusal closes the channel, and the frames still in flight behind it can take the whole
        # connection down: each failed event is sent again on its own to tell which one is refused.
        published: list[_Row] = []
        for (row, message), result in zip(sendable, results, strict=True):
            if result is None:
                published.append(row)
            elif row.stream_id not in held:
                alone = await self._send_alone(row, message)
                if alone is None:
                    published.append(row)
                    continue
                if not isinstance(alone, _REFUSALS):
                    raise BrokerUnavailable(f"publishing failed: {alone!r}") from alone
                held.add(row.stream_id)
                await self._refused(conn, row, alone)
        return published

    async def _send(self, items: list[tuple[_Row, aio_pika.Message]]) -> list[BaseException | None]:
        if not items:
            return []
        exchange = await self._exchange_ready()
        sends = (exchange.publish(m, routing_key=row.event_type) for row, m in items)
        try:
            results = await asyncio.wait_for(
                asyncio.gather(*sends, return_exceptions=True), self.publish_timeout_s
            )
        except TimeoutError:
            raise BrokerUnavailable(
                f"no confirm within {self.publish_timeout_s} s (is the broker blocking publishers?)"
            ) from None
        return [r if isinstance(r, BaseException) else None for r in results]

    async def _send_alone(self, row: _Row, message: aio_pika.Message) -> BaseException | None:
        """One event on a fresh channel (a fresh connection if the last one died): a refusal now is
        about this event; failing to get an answer at all is about the broker (BrokerUnavailable)."""
        await self._reset(database=False, broker=self._broker_lost())
        try:
            [result] = await self._send([(row, message)])
        except BrokerUnavailable:
            # The connection may have died under the batch only just now: one fresh try, then it is
            # the broker that is away.
            await self._reset(database=False, broker=True)
            [result] = await self._send([(row, message)])
        return result

    def _broker_lost(self) -> bool:
        return self._amqp is None or self._amqp.is_closed or not self._amqp.connected.is_set()

    async def _refused(self, conn: asyncpg.Connection, row: _Row, exc: BaseException) -> None:
        reason = f"refused by the broker: {exc}"[:2000]
        failing = self._failing.get(row.stream_id)
        attempts = (failing.attempts if failing and failing.position == row.position else 0) + 1
        if attempts >= self.max_attempts:
            await self._park(conn, row, reason, attempts)
            return
        delay = exponential(attempts, self.retry_base_s, 30.0)
        self._failing[row.stream_id] = _Failing(row.position, attempts, time.monotonic() + delay, reason)
        log.warning("relay.event_refused", event_id=str(row.event_id), attempt=attempts, retry_in_s=delay,
                    reason=reason)  # fmt: skip

    async def _park(self, conn: asyncpg.Connection, row: _Row, reason: str, attempts: int) -> None:
        reason = reason[:2000]
        await conn.execute(
            _PARK, row.event_id, row.position, self.producer, row.stream_id, row.event_type, reason, attempts
        )
        self._failing.pop(row.stream_id, None)
        self._parked = None  # count again
        metrics.EVENTS_PARKED.labels(self.producer).inc()
        log.error(
            "relay.event_parked",
            event_id=str(row.event_id),
            stream_id=row.stream_id,
            event_type=row.event_type,
            attempts=attempts,
            reason=reason,
        )

    async def _report(self, conn: asyncpg.Connection, *, full: bool) -> None:
        """Backlog and parked gauges; counted only when something may be waiting (the hot path with an
        empty outbox and nothing parked costs no query)."""
        now = time.monotonic()
        if self._parked is None or (self._parked > 0 and now >= self._parked_checked + _PARKED_REFRESH_S):
            self._parked = int(await conn.fetchval(_PARKED_COUNT, self.producer))
            self._parked_checked = now
            metrics.OUTBOX_PARKED.labels(self.producer).set(self._parked)
        waiting = full or bool(self._failing) or bool(self._parked)
        backlog = int(await conn.fetchval(_BACKLOG, self.producer)) if waiting else 0
        metrics.OUTBOX_BACKLOG.labels(self.producer).set(backlog)

    async def _exchange_ready(self) -> aio_pika.abc.AbstractExchange:
        if self._broker_lost():
            await self._reset(database=False, broker=True)
        try:
            if self._amqp is None:
                self._amqp = await asyncio.wait_for(broker.connect(self.amqp_url), 10)
            if self._exchange is None or self._channel is None or self._channel.is_closed:
                channel = await asyncio.wait_for(self._amqp.channel(publisher_confirms=True), 10)
                self._exchange = await channel.get_exchange(self.topology.exchange, ensure=False)
                self._channel = channel
        except (TimeoutError, aio_pika.exceptions.AMQPError, OSError) as exc:
            raise BrokerUnavailable(f"cannot reach the broker: {exc!r}") from exc
        return self._exchange

    async def _drop_channel(self) -> None:
        channel, self._channel, self._exchange = self._channel, None, None
        if channel is not None and not channel.is_closed:  # one the broker closed needs no close
            await _close_quietly(channel)

    async def _connection(self) -> asyncpg.Connection:
        """The relay's own connection: LISTEN for appends, and the leader's advisory lock."""
        if self._conn is None or self._conn.is_closed():
            self._leader = False
            conn = await connect(self.dsn)
            try:
                await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._conn

    async def _lead(self, conn: asyncpg.Connection) -> bool:
        if not self._leader:
            self._leader = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key))
            if self._leader:
                log.info("relay.leading", producer=self.producer)
        return self._leader

    async def _reset(self, *, database: bool, broker: bool) -> None:
        """Start afresh after a failure: a new channel always; a new connection to whichever failed."""
        await self._drop_channel()
        if broker and self._amqp is not None:
            amqp, self._amqp = self._amqp, None
            await _close_quietly(amqp)  # a blocked connection may not even close: it is left to die
        if database and self._conn is not None:
            conn, self._conn, self._leader = self._conn, None, False
            if not conn.is_closed():
                try:
                    await asyncio.wait_for(conn.close(), 5)
                except Exception:
                    conn.terminate()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload == self.producer:
            self._wake.set()
        elif payload == f"{self.producer}:parked":  # `viralspot outbox retry|skip` released something
            self._parked = None
            self._wake.set()


def _decode(record: asyncpg.Record) -> _Row:
    envelope = None
    try:
        payload = orjson.loads(record["payload_text"])
    except orjson.JSONDecodeError:
        pass
    else:
        envelope = Envelope.model_construct(
            **{k: record[k] for k in record.keys() if k not in ("position", "payload_text")}, payload=payload
        )
    return _Row(record["position"], envelope, record["event_id"], record["stream_id"], record["event_type"])


async def _close_quietly(closable: aio_pika.abc.AbstractChannel | aio_pika.abc.AbstractConnection) -> None:
    try:
        await asyncio.wait_for(closable.close(), 5)
    except Exception:
        pass
