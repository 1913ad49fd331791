"""The consumer: ack after commit, idempotency, retries with backoff, dead letters, poison isolation."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from libs.backoff import exponential
from libs.events import metrics
from libs.events.catalog import REGISTRY, Event
from libs.events.db import is_database_outage, is_permanent_error
from libs.events.envelope import Envelope, NewerSchemaVersion, PoisonMessage
from libs.events.store import CONFLICT_ATTEMPTS, WrongExpectedVersion
from libs.events.topology import Topology, check_bindings

log = structlog.get_logger(__name__)

Handler = Callable[[asyncpg.Connection, Envelope, Any], Awaitable[None]]
BatchHandler = Callable[[asyncpg.Connection, list[tuple[Envelope, Event]]], Awaitable[None]]
# A service's one handler map: keyed by event class, so dispatch carries the type (handlers take the
# event typed) and the consumer's bindings are derived from it.
Handlers = Mapping[type[Event], Handler]


def bind(handlers: Mapping[type[Event], Callable[..., Awaitable[None]]], *collaborators: Any) -> Handlers:
    """A service's module-level handler map with its collaborators given first (the provider, the
    settings): its wiring, in __main__. The map itself stays one literal keyed by event class."""
    return {cls: functools.partial(handler, *collaborators) for cls, handler in handlers.items()}


_INBOX_ONE = """INSERT INTO eventstore.inbox (consumer, event_id) VALUES ($1, $2)
                ON CONFLICT DO NOTHING RETURNING event_id"""
_INBOX_MANY = """INSERT INTO eventstore.inbox (consumer, event_id) SELECT $1, unnest($2::uuid[])
                 ON CONFLICT DO NOTHING RETURNING event_id"""


class PermanentFailure(Exception):
    """The handler knows retrying cannot help: the message is dead-lettered at once."""


class Deferred(Exception):
    """Not this message's fault and not yet decidable (its original is still being worked on):
    come back after the first retry delay, without spending one of its retries."""


Decoded = tuple[AbstractIncomingMessage, Envelope, Event]


class Consumer:
    """Consumes one durable queue and applies each event in a database transaction.

    The inbox row and the handler's writes commit together, then the message is acked: a crash
    before the commit redelivers, a crash after it finds the inbox row and skips. With
    batch_size > 1 (the projector) the messages already buffered are applied in one transaction;
    if that fails they are replayed one by one so a single bad event cannot hold back the rest.
    """

    def __init__(
        self,
        *,
        service: str,
        consumer: str,
        pool: asyncpg.Pool,
        amqp: AbstractRobustConnection,
        topology: Topology,
        handlers: Handlers | None = None,
        prefetch: int = 16,
        concurrency: int = 1,
        batch_size: int = 1,
        idempotent: bool = True,
        batch_handler: BatchHandler | None = None,
        handles: Collection[type[Event]] = (),
        transactional: bool = True,
        divert: Callable[[Event], str | None] | None = None,
        admit: Callable[[], Awaitable[None]] | None = None,
        on_dead_letter: Callable[[asyncpg.Pool, Envelope, str], Awaitable[None]] | None = None,
    ) -> None:
        self.service = service
        self.consumer = consumer
        self.pool = pool
        self.amqp = amqp
        self.topology = topology
        if (handlers is None) == (batch_handler is None):
            raise ValueError("a consumer has either a handler map or a batch handler with what it handles")
        self.handlers: dict[type[Event], Handler] = dict(handlers or {})
        self.handles = frozenset(self.handlers or handles)
        self.prefetch = max(prefetch, batch_size)
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.idempotent = idempotent
        # One call for a whole batch (the projector uses it to read and write checkpoints in bulk);
        # `handles` then says which event types this consumer takes.
        self.batch_handler = batch_handler
        # Long work (a provider fetch) must not sit in one open transaction: such handlers get the pool
        # and commit their own steps, and are idempotent by their own state instead of the inbox.
        self.transactional = transactional
        if not transactional and (idempotent or batch_size > 1):
            raise ValueError("a non-transactional consumer handles one message at a time, without inbox")
        # A lane's consumer (topology.Subscription.lane_of) for each message `divert` names: the message
        # is moved to that lane's queue as it came, instead of being handled here.
        self.divert = divert
        # Awaited before each message is handled: a closed gate holds the message (unacked, so a crash
        # loses nothing) until it opens; stopping hands it back to the queue.
        self.admit = admit
        # Told of each dead letter whose envelope can be read, before it is parked (the projector holds
        # its stream there); if that fails the message waits for the database instead.
        self.on_dead_letter = on_dead_letter
        self._stopping = asyncio.Event()
        self._buffer: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._channel: aio_pika.abc.AbstractRobustChannel | None = None
        self._queue: aio_pika.abc.AbstractRobustQueue | None = None
        self._tag: str | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._outages = 0

    @property
    def queue_name(self) -> str:
        return self.topology.queue(self.consumer)

    async def start(self) -> None:
        # What the broker delivers and what is handled cannot drift apart: a bound type without a
        # handler would be acked unseen, a handled type without a binding never delivered. (A consumer
        # the product topology does not declare, a test's, binds its queue itself.)
        if self.consumer in self.topology.subscriptions:
            check_bindings(self.topology.subscriptions[self.consumer], self.handles)
        channel = await self.amqp.channel(publisher_confirms=True)
        assert isinstance(channel, aio_pika.abc.AbstractRobustChannel)
        self._channel = channel
        await channel.set_qos(prefetch_count=self.prefetch)
        queue = await channel.get_queue(self.queue_name, ensure=True)
        assert isinstance(queue, aio_pika.abc.AbstractRobustQueue)
        self._queue = queue
        self._workers = [
            asyncio.create_task(self._work(), name=f"{self.consumer}-worker-{i}")
            for i in range(self.concurrency)
        ]
        self._tag = await queue.consume(self._buffer.put)

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Stop taking messages, finish the ones in hand, hand back the buffered ones."""
        self._stopping.set()
        if self._queue is not None and self._tag is not None:
            try:
                await self._queue.cancel(self._tag)
            except Exception as exc:
                log.warning("consumer.cancel_failed", consumer=self.consumer, error=repr(exc))
        for _ in self._workers:
            self._buffer.put_nowait(_STOP)
        _done, pending = await asyncio.wait(self._workers, timeout=timeout_s) if self._workers else ((), ())
        for task in pending:
            task.cancel()
        while not self._buffer.empty():
            message = self._buffer.get_nowait()
            if message is not _STOP:
                await _settle(message.nack(requeue=True))
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()

    async def _work(self) -> None:
        while True:
            message = await self._buffer.get()
            if message is _STOP:
                return
            if self.admit is not None and not await self._admitted():
                await _settle(message.nack(requeue=True))
                return
            batch = [message]
            while len(batch) < self.batch_size and not self._buffer.empty():
                nxt = self._buffer.get_nowait()
                if nxt is _STOP:
                    self._buffer.put_nowait(nxt)
                    break
                batch.append(nxt)
            try:
                await self._process(batch)
            except Exception:  # a worker must never die; the messages go back to the queue
                log.exception("consumer.worker_error", consumer=self.consumer)
                for m in batch:
                    await _settle(m.nack(requeue=True))

    async def _admitted(self) -> bool:
        """Wait for the gate, unless the consumer stops first."""
        assert self.admit is not None
        admitted = asyncio.ensure_future(self.admit())
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait((admitted, stopping), return_when=asyncio.FIRST_COMPLETED)
        for task in (admitted, stopping):
            task.cancel()
        return admitted.done() and not admitted.cancelled() and not self._stopping.is_set()

    async def _process(self, messages: list[AbstractIncomingMessage]) -> None:
        decoded: list[Decoded] = []
        for message in messages:
            try:
                # Upcast: handlers read the payload in the current version's shape too, not only the event.
                envelope = Envelope.from_json(message.body).upcast()
                event = envelope.event()
            except NewerSchemaVersion as newer:
                await self._await_newer_code(message, newer)
                continue
            except PoisonMessage as poison:
                await self._dead_letter(message, poison.reason, poison.detail, event_type=message.type)
                continue
            if type(event) not in self.handles:
                self._count(envelope.event_type, "ignored")
                await _settle(message.ack())
                continue
            lane = self.divert(event) if self.divert is not None else None
            if lane is not None:
                await self._republish(message, self.topology.queue(lane), dict(message.headers or {}))
                self._count(envelope.event_type, "diverted")
                continue
            decoded.append((message, envelope, event))
        if len(decoded) > 1:
            try:
                await self._apply_batch(decoded)
                return
            except Exception as exc:
                if is_database_outage(exc):
                    await self._wait_for_database(exc, [m for m, _, _ in decoded])
                    return
                log.warning("consumer.batch_failed_replaying_singly", consumer=self.consumer, error=repr(exc))
        for item in decoded:
            await self._apply_one(item)

    async def _apply_batch(self, items: list[Decoded]) -> None:
        started = time.perf_counter()
        outcomes: list[str] = []
        async with self.pool.acquire() as conn, conn.transaction():
            fresh: set[Any] | None = None
            if self.idempotent:
                rows = await conn.fetch(_INBOX_MANY, self.consumer, [e.event_id for _, e, _ in items])
                fresh = {r["event_id"] for r in rows}
            todo: list[tuple[Envelope, Event]] = []
            for _, envelope, event in items:
                if fresh is not None:
                    if envelope.event_id not in fresh:
                        outcomes.append("duplicate")
                        continue
                    fresh.discard(envelope.event_id)
                todo.append((envelope, event))
                outcomes.append("handled")
            if self.batch_handler is not None:
                await self.batch_handler(conn, todo)
            else:
                for envelope, event in todo:
                    with structlog.contextvars.bound_contextvars(**_log_context(envelope)):
                        await self.handlers[type(event)](conn, envelope, event)
        elapsed = (time.perf_counter() - started) / len(items)
        for (message, envelope, _), outcome in zip(items, outcomes, strict=True):
            self._count(envelope.event_type, outcome, elapsed)
            await _settle(message.ack())
        self._outages = 0

    async def _apply_one(self, item: Decoded) -> None:
        message, envelope, event = item
        handler = self.handlers.get(type(event))
        with structlog.contextvars.bound_contextvars(**_log_context(envelope)):
            for _ in range(CONFLICT_ATTEMPTS):
                started = time.perf_counter()
                try:
                    if self.transactional:
                        outcome = await self._apply_in_transaction(handler, envelope, event)
                    else:
                        assert handler is not None  # a non-transactional consumer has a handler map
                        outcome = "handled"
                        await handler(self.pool, envelope, event)
                except WrongExpectedVersion:
                    continue  # another writer moved the stream on: decide again on fresh state
                except Deferred as exc:
                    await self._defer(message, envelope, str(exc))
                    return
                except Exception as exc:
                    if is_database_outage(exc):
                        await self._wait_for_database(exc, [message])
                    elif isinstance(exc, PermanentFailure):
                        await self._dead_letter(message, "permanent_failure", str(exc), envelope.event_type)
                    elif is_permanent_error(exc):
                        log.exception("consumer.permanent_error", consumer=self.consumer)
                        detail = f"{type(exc).__name__}: {exc}"
                        await self._dead_letter(message, "permanent_failure", detail, envelope.event_type)
                    else:
                        await self._retry_later(message, envelope, exc)
                    return
                self._count(envelope.event_type, outcome, time.perf_counter() - started)
                self._outages = 0
                await _settle(message.ack())
                return
            await self._retry_later(message, envelope, RuntimeError("stream kept changing under the handler"))

    async def _apply_in_transaction(self, handler: Handler | None, envelope: Envelope, event: Event) -> str:
        async with self.pool.acquire() as conn, conn.transaction():
            if self.idempotent and not await conn.fetchval(_INBOX_ONE, self.consumer, envelope.event_id):
                return "duplicate"
            if self.batch_handler is not None:
                await self.batch_handler(conn, [(envelope, event)])
            else:
                assert handler is not None
                await handler(conn, envelope, event)
        return "handled"

    async def _wait_for_database(self, exc: BaseException, messages: list[AbstractIncomingMessage]) -> None:
        """A database outage is nobody's fault: requeue without spending the messages' retries."""
        self._outages += 1
        delay = exponential(self._outages, 0.1, 10.0)
        log.warning(
            "consumer.database_unavailable", consumer=self.consumer, error=repr(exc), retry_in_s=delay
        )
        await asyncio.sleep(delay)
        for message in messages:
            await _settle(message.nack(requeue=True))

    async def _retry_later(
        self, message: AbstractIncomingMessage, envelope: Envelope, exc: Exception
    ) -> None:
        attempt = int(str((message.headers or {}).get("x-attempt", 0))) + 1
        error = f"{type(exc).__name__}: {exc}"[:1000]
        if attempt > self.topology.retry.max_retries:
            await self._dead_letter(
                message, "retries_exhausted", error, envelope.event_type, attempts=attempt - 1
            )
            return
        log.warning(
            "consumer.handler_failed_will_retry",
            consumer=self.consumer,
            attempt=attempt,
            retry_in_s=self.topology.retry.delay_s(attempt),
            error=error,
        )
        headers = {**(message.headers or {}), "x-attempt": attempt, "x-last-error": error}
        await self._republish(message, self.topology.retry_queue(self.consumer, attempt), headers)
        metrics.RETRIES.labels(self.service, self.consumer, envelope.event_type).inc()
        self._count(envelope.event_type, "retried")

    async def _defer(self, message: AbstractIncomingMessage, envelope: Envelope, why: str) -> None:
        log.info("consumer.deferred", consumer=self.consumer, reason=why[:500])
        await self._republish(
            message, self.topology.retry_queue(self.consumer, 1), dict(message.headers or {})
        )
        self._count(envelope.event_type, "deferred")

    async def _await_newer_code(self, message: AbstractIncomingMessage, newer: NewerSchemaVersion) -> None:
        """Newer code wrote this event (a rolling deploy): it goes round the delay queues until a replica
        that knows its version takes it, and is never dead-lettered for it. Each wait is longer, up to
        the ladder's last delay, and spends none of the message's retries."""
        waits = int(str((message.headers or {}).get("x-newer-schema-waits", 0))) + 1
        log.warning(
            "consumer.newer_schema_version",
            consumer=self.consumer,
            event_type=newer.event_type,
            schema_version=newer.version,
            known=newer.known,
            waits=waits,
        )
        metrics.NEWER_SCHEMA_REQUEUES.labels(self.service, self.consumer, newer.event_type).inc()
        self._count(newer.event_type, "newer_schema")
        last = self.topology.retry.max_retries
        if last < 1:  # no delay queues declared: back into its own queue after the base delay
            await asyncio.sleep(self.topology.retry.base_delay_s)
            await _settle(message.nack(requeue=True))
            return
        headers = {**(message.headers or {}), "x-newer-schema-waits": waits}
        await self._republish(message, self.topology.retry_queue(self.consumer, min(waits, last)), headers)

    async def _dead_letter(
        self,
        message: AbstractIncomingMessage,
        reason: str,
        detail: str,
        event_type: str | None,
        attempts: int = 0,
    ) -> None:
        if self.on_dead_letter is not None and (envelope := _envelope_of(message)) is not None:
            try:
                await self.on_dead_letter(self.pool, envelope, f"{reason}: {detail}")
            except Exception as exc:
                await self._wait_for_database(exc, [message])
                return
        log.error(
            "consumer.dead_lettered",
            consumer=self.consumer,
            reason=reason,
            detail=detail[:500],
            message_id=message.message_id,
        )
        headers = {
            **(message.headers or {}),
            "x-dead-letter-reason": reason,
            "x-error": detail[:1000],
            "x-failed-at": datetime.now(UTC).isoformat(),
            "x-attempts": attempts,
            "x-original-queue": self.queue_name,
            "x-original-routing-key": message.routing_key or "",
            "x-consumer": self.consumer,
        }
        await self._republish(message, self.topology.dead_letter_queue(self.consumer), headers)
        metrics.DEAD_LETTERS.labels(self.service, self.consumer, reason).inc()
        self._count(event_type or "unknown", "dead_lettered")

    async def _republish(self, message: AbstractIncomingMessage, queue: str, headers: dict[str, Any]) -> None:
        """Copy the message to `queue` (confirmed), then ack the original; on failure, requeue it."""
        assert self._channel is not None
        copy = aio_pika.Message(
            body=message.body,
            headers=headers,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            priority=message.priority,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            type=message.type,
            timestamp=message.timestamp,
        )
        try:
            await self._channel.default_exchange.publish(copy, routing_key=queue)
        except Exception as exc:
            log.error("consumer.republish_failed", consumer=self.consumer, queue=queue, error=repr(exc))
            await _settle(message.nack(requeue=True))
            return
        await _settle(message.ack())

    def _count(self, event_type: str, outcome: str, seconds: float | None = None) -> None:
        if event_type not in REGISTRY:  # a poison message's type is whatever its sender wrote
            event_type = "unknown"
        metrics.EVENTS_CONSUMED.labels(self.service, self.consumer, event_type, outcome).inc()
        if seconds is not None and outcome == "handled":
            metrics.HANDLER_SECONDS.labels(self.service, self.consumer, event_type).observe(seconds)


_STOP: Any = object()


def _envelope_of(message: AbstractIncomingMessage) -> Envelope | None:
    try:
        return Envelope.from_json(message.body)
    except PoisonMessage:
        return None


def _log_context(envelope: Envelope) -> dict[str, str]:
    return {
        "event_id": str(envelope.event_id),
        "event_type": envelope.event_type,
        "correlation_id": str(envelope.correlation_id),
    }


async def _settle(result: Awaitable[Any]) -> None:
    """Ack/nack on a channel that died meanwhile fails; the broker redelivers and the inbox dedups."""
    try:
        await result
    except Exception as exc:
        log.warning("consumer.settle_failed", error=repr(exc))
