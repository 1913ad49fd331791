"""Analysis events as they happen, for the web page: one broker queue per gateway process, fanned out
in process to the Server-Sent Events streams following each analysis."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from prometheus_client import Counter, Gauge

from libs.events.catalog import Event
from libs.events.envelope import Envelope, NewerSchemaVersion, PoisonMessage
from libs.events.topology import LIVE_PICKER_EVENTS, Topology, declare_live_queue
from services.gateway.projection_wait import ProjectionWaits

log = structlog.get_logger(__name__)

SSE_CLIENTS = Gauge("viralspot_sse_clients", "Open Server-Sent Events streams of this gateway")
SSE_SLOW_CLIENTS = Counter(
    "viralspot_sse_slow_clients_total", "Streams closed because their client did not keep up"
)
LIVE_EVENTS = Counter("viralspot_live_events_total", "Analysis events handed to open streams", ["event_type"])

# The SSE `event:` name of each event type the page follows.
EVENT_NAMES = {
    "AnalysisStarted": "started",
    "ProgressUpdated": "progress",
    "CompetitorStatusChanged": "competitor",
    "AnalysisCompleted": "completed",
    "AnalysisFailed": "failed",
    "AnalysisCancelled": "cancelled",
}
_STATUS = {
    "AnalysisStarted": "processing",
    "AnalysisCompleted": "completed",
    "AnalysisCancelled": "cancelled",
}


@dataclass(frozen=True, slots=True)
class LiveEvent:
    name: str
    version: int  # the event's stream version: the SSE id a reconnecting client sends back
    data: dict[str, Any] = field(default_factory=dict)
    terminal: bool = False


HEARTBEAT = LiveEvent("heartbeat", 0)
CLOSE = LiveEvent("close", 0, terminal=True)


def live_event(envelope: Envelope, event: Event) -> LiveEvent:
    # The completed result can be large; the page reads it from the results endpoint.
    data = event.model_dump(mode="json", exclude={"result", "lease_expires_at", "worker"})
    data.update(version=envelope.stream_version, occurred_at=envelope.occurred_at.isoformat())
    terminal = envelope.event_type in ("AnalysisCompleted", "AnalysisCancelled")
    if envelope.event_type == "AnalysisFailed":
        terminal = not data.get("will_retry", False)  # a retried run goes on: keep following it
        data["status"] = "failed" if terminal else "pending"
    elif envelope.event_type in _STATUS:
        data["status"] = _STATUS[envelope.event_type]
    return LiveEvent(EVENT_NAMES[envelope.event_type], envelope.stream_version, data, terminal)


def alert_event(envelope: Envelope, event: Event) -> LiveEvent:
    data = event.model_dump(mode="json", exclude={"user_id", "ingestion_event_id"})
    data.update(id=str(envelope.event_id), detected_at=envelope.occurred_at.isoformat())
    return LiveEvent("alert", envelope.stream_version, data)


class Subscriber:
    """One open stream: a bounded buffer, so one slow client never holds up the others."""

    __slots__ = ("_events", "gone", "queue_id")

    def __init__(self, queue_id: str, capacity: int, gone: Callable[[], bool]) -> None:
        self.queue_id = queue_id
        self.gone = gone
        self._events: asyncio.Queue[LiveEvent] = asyncio.Queue(capacity)

    def offer(self, event: LiveEvent) -> bool:
        try:
            self._events.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def close(self) -> None:
        """Whatever is still buffered is dropped: a reconnecting client gets a fresh snapshot."""
        while not self._events.empty():
            self._events.get_nowait()
        self._events.put_nowait(CLOSE)

    async def next(self) -> LiveEvent:
        return await self._events.get()


class LiveHub:
    """Open streams by queue_id. One task sweeps for clients that left and sends the heartbeats, so an
    idle stream costs no timer of its own.

    The last few events of recently active analyses are kept: the broker may hand this process an
    event before the projector has applied it, and a client connecting in between reads a snapshot
    without it. Replaying what is newer than its snapshot closes that gap.
    """

    def __init__(
        self,
        *,
        max_clients: int,
        buffer: int,
        heartbeat_s: float,
        sweep_s: float = 1.0,
        recent_streams: int = 1024,
        recent_per_stream: int = 32,
    ) -> None:
        self.max_clients = max_clients
        self.buffer = buffer
        self.heartbeat_s = heartbeat_s
        self.sweep_s = min(sweep_s, heartbeat_s)
        self.closing = False
        self._by_queue: dict[str, set[Subscriber]] = {}
        self._count = 0
        self._recent: OrderedDict[str, deque[LiveEvent]] = OrderedDict()
        self.recent_streams = recent_streams
        self.recent_per_stream = recent_per_stream
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return self._count

    def full(self) -> bool:
        return self.closing or self._count >= self.max_clients

    def subscribe(self, queue_id: str, gone: Callable[[], bool]) -> Subscriber:
        subscriber = Subscriber(queue_id, self.buffer, gone)
        self._by_queue.setdefault(queue_id, set()).add(subscriber)
        self._count += 1
        SSE_CLIENTS.inc()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscribers = self._by_queue.get(subscriber.queue_id)
        if subscribers is None or subscriber not in subscribers:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._by_queue[subscriber.queue_id]
        self._count -= 1
        SSE_CLIENTS.dec()

    def recent(self, queue_id: str) -> list[LiveEvent]:
        return sorted(self._recent.get(queue_id, ()), key=lambda e: e.version)

    def publish(self, queue_id: str, event: LiveEvent) -> None:
        recent = self._recent.get(queue_id)
        if recent is None:
            recent = self._recent[queue_id] = deque(maxlen=self.recent_per_stream)
            if len(self._recent) > self.recent_streams:
                self._recent.popitem(last=False)
        else:
            self._recent.move_to_end(queue_id)
        recent.append(event)
        for subscriber in self._by_queue.get(queue_id, ()):
            if not subscriber.offer(event):
                SSE_SLOW_CLIENTS.inc()
                subscriber.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._sweep(), name="sse-sweeper")

    async def close(self) -> None:
        """Shutdown: refuse new streams and end the open ones now."""
        self.closing = True
        for subscribers in self._by_queue.values():
            for subscriber in subscribers:
                subscriber.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sweep(self) -> None:
        next_beat = time.monotonic() + self.heartbeat_s
        while True:
            await asyncio.sleep(self.sweep_s)
            beat = time.monotonic() >= next_beat
            if beat:
                next_beat += self.heartbeat_s
            for subscribers in list(self._by_queue.values()):
                for subscriber in list(subscribers):
                    if subscriber.gone():
                        subscriber.close()
                    elif beat:
                        subscriber.offer(HEARTBEAT)  # a full buffer has data coming anyway


class LiveEventListener:
    """Consumes this process's live queue without acks or inbox: a missed message only means a stale
    screen until the next event or reconnect, and each stream drops what it has already sent."""

    def __init__(
        self,
        hub: LiveHub,
        amqp: AbstractRobustConnection,
        topology: Topology,
        waits: ProjectionWaits | None = None,
    ) -> None:
        self.hub = hub
        self.waits = waits
        self.amqp = amqp
        self.topology = topology
        self.listener = f"gateway-{uuid.uuid4().hex[:12]}"
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None

    async def start(self) -> None:
        self._channel = await self.amqp.channel()
        self._queue = await declare_live_queue(self._channel, self.topology, self.listener)
        self._tag = await self._queue.consume(self._on_message, no_ack=True)

    async def stop(self, timeout_s: float = 5.0) -> None:
        # A robust channel waits for a reconnection that never comes once its connection is closed:
        # nothing to cancel then (the broker dropped the exclusive queue with the connection).
        if self.amqp.is_closed:
            return
        with contextlib.suppress(Exception):
            if self._queue is not None and self._tag is not None:
                await asyncio.wait_for(self._queue.cancel(self._tag), timeout_s)
        with contextlib.suppress(Exception):
            if self._channel is not None and not self._channel.is_closed:
                await asyncio.wait_for(self._channel.close(), timeout_s)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # No await in here: deliveries are dispatched in the order they arrived.
        if message.type in LIVE_PICKER_EVENTS:
            # A fetch's result: wakes who waits for its projection, by the stream id in the headers
            # (the body is never decoded here).
            stream_id = (message.headers or {}).get("stream_id")
            if self.waits is not None and isinstance(stream_id, str):
                self.waits.wake(stream_id)
            return
        try:
            envelope = Envelope.from_json(message.body)
            if envelope.event_type == "OutlierDetected":
                # A user's alerts: followed by the stream's id (alerts-<user_id>), never a queue id.
                self.hub.publish(envelope.stream_id, alert_event(envelope, envelope.event()))
                LIVE_EVENTS.labels(envelope.event_type).inc()
                return
            queue_id = envelope.stream_id.removeprefix("analysis-")
            if envelope.event_type not in EVENT_NAMES:
                return
            event = envelope.event()
        except PoisonMessage as poison:
            log.warning("live.undecodable_event", reason=poison.reason, detail=poison.detail[:200])
            return
        except NewerSchemaVersion as newer:  # a rolling deploy: the newer gateways show it
            log.info("live.newer_schema_version", detail=str(newer))
            return
        LIVE_EVENTS.labels(envelope.event_type).inc()
        self.hub.publish(queue_id, live_event(envelope, event))
