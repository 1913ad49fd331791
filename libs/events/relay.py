"""The outbox relay: publishes a service's committed events in order, with publisher confirms."""

from __future__ import annotations

import asyncio
import time
import zlib

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractRobustConnection

from libs.events import metrics
from libs.events.db import CONNECTION_ERRORS, connect
from libs.events.publisher import to_message
from libs.events.store import _COLUMNS, _envelope
from libs.events.topology import Topology

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "eventstore_appended"
_TRANSIENT = (*CONNECTION_ERRORS, aio_pika.exceptions.AMQPError, TimeoutError, RuntimeError)

_BATCH = f"""SELECT position, {_COLUMNS} FROM eventstore.events
             WHERE published_at IS NULL AND producer = $1
             ORDER BY position LIMIT $2 FOR UPDATE SKIP LOCKED"""


class OutboxRelay:
    """Drains eventstore.events rows of one producer into the broker.

    Woken by LISTEN/NOTIFY on append, polling as a fallback. One relay per producer publishes at a
    time (a transaction-scoped advisory lock), which keeps each stream's events in order even when a
    service runs several replicas. A crash between publish and commit republishes the batch: delivery
    is at least once and consumers are idempotent.
    """

    def __init__(
        self,
        *,
        producer: str,
        pool: asyncpg.Pool,
        dsn: str,
        amqp: AbstractRobustConnection,
        topology: Topology,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
    ) -> None:
        self.producer = producer
        self.pool = pool
        self.dsn = dsn
        self.amqp = amqp
        self.topology = topology
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._stopping = False
        self._lock_key = zlib.crc32(f"outbox-relay:{producer}".encode()) & 0x7FFFFFFF
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self.published = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen(), name=f"relay-listen-{self.producer}")
        backoff = 0.1
        try:
            while not self._stopping:
                try:
                    while await self.publish_batch() == self.batch_size:
                        pass
                    backoff = 0.1
                except Exception as exc:  # the relay must outlive any outage; it retries everything
                    level = "warning" if isinstance(exc, _TRANSIENT) else "error"
                    getattr(log, level)("relay.publish_failed", error=repr(exc), retry_in_s=backoff)
                    self._channel = self._exchange = None
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)
                except TimeoutError:
                    pass
                self._wake.clear()
            try:
                await asyncio.wait_for(self.flush(), 10)
            except Exception as exc:
                log.warning("relay.final_flush_failed", error=repr(exc))
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def stop(self) -> None:
        """Stop after a last drain, so events committed before shutdown still go out."""
        self._stopping = True
        self._wake.set()

    async def flush(self) -> None:
        """Publish everything committed so far (used at shutdown and by tests)."""
        while await self.publish_batch() == self.batch_size:
            pass

    async def _exchange_ready(self) -> aio_pika.abc.AbstractExchange:
        if self._exchange is None or self._channel is None or self._channel.is_closed:
            self._channel = await asyncio.wait_for(self.amqp.channel(publisher_confirms=True), 10)
            self._exchange = await self._channel.get_exchange(self.topology.exchange, ensure=False)
        return self._exchange

    async def publish_batch(self) -> int:
        exchange = await self._exchange_ready()
        started = time.perf_counter()
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", self._lock_key):
                return 0  # another replica of this service is publishing
            rows = await conn.fetch(_BATCH, self.producer, self.batch_size)
            if not rows:
                metrics.OUTBOX_BACKLOG.labels(self.producer).set(0)
                return 0
            envelopes = [_envelope(r) for r in rows]
            # Confirms are awaited together: the frames go out in order, the broker acks them in bulk.
            await asyncio.gather(
                *(exchange.publish(to_message(e), routing_key=e.event_type) for e in envelopes)
            )
            await conn.execute(
                "UPDATE eventstore.events SET published_at = now() WHERE position = ANY($1::bigint[])",
                [r["position"] for r in rows],
            )
        for e in envelopes:
            metrics.EVENTS_PUBLISHED.labels(self.producer, e.event_type).inc()
        self.published += len(rows)
        metrics.RELAY_BATCH_SECONDS.labels(self.producer).observe(time.perf_counter() - started)
        if len(rows) == self.batch_size:
            backlog = await self.pool.fetchval(
                "SELECT count(*) FROM eventstore.events WHERE published_at IS NULL AND producer = $1",
                self.producer,
            )
            metrics.OUTBOX_BACKLOG.labels(self.producer).set(backlog)
        else:
            metrics.OUTBOX_BACKLOG.labels(self.producer).set(0)
        return len(rows)

    async def _listen(self) -> None:
        """Keep a LISTEN connection open; reconnect when the database goes away."""
        while not self._stopping:
            conn = None
            try:
                conn = await connect(self.dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
                self._wake.set()  # catch up on anything appended while we were not listening
                await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("relay.listen_failed", error=repr(exc))
            finally:
                if conn is not None and not conn.is_closed():
                    await conn.close()
            await asyncio.sleep(1.0)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload == self.producer:
            self._wake.set()
