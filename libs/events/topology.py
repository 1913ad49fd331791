"""Every exchange, queue and binding of the product, declared in one place.

Each service declares the whole topology at start-up, so an event published before its consumer
ever ran still lands in that consumer's durable queue.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue, AbstractRobustChannel

from libs.backoff import exponential
from libs.events.catalog import REGISTRY, Event


@dataclass(frozen=True)
class Subscription:
    consumer: str
    bindings: tuple[str, ...]
    max_priority: int | None = None
    # A lane is not bound to the exchange: its parent consumer moves some of the messages it receives
    # there (libs.events.consumer's `divert`). It takes the parent's types, so `bindings` repeats them,
    # and it has its own retry ladder and dead letters, so a retried message stays in its lane.
    lane_of: str | None = None


# The profile work queue's work: profile requests, and the picker's on-demand similar accounts.
_PROFILE_WORK = ("ProfileRequested", "ProfileRequestPromoted", "SimilarAccountsRequested")
_ALERTS = (
    "WatchStarted", "WatchStopped", "ProfileIngested", "OutlierDetected", "WebhookRegistered", "WebhookRemoved",
    "WebhookRedeliveryRequested",
)  # fmt: skip

SUBSCRIPTIONS: dict[str, Subscription] = {
    s.consumer: s
    for s in (
        # The profile work queue: a classic priority queue so a HIGH request overtakes queued MEDIUM ones.
        Subscription("profile-ingest", _PROFILE_WORK, max_priority=10),
        # LOW requests, which profile-ingest moves out of its work queue so that they never hold the
        # capacity a HIGH request needs, and starts only while no HIGH or MEDIUM work is in hand.
        Subscription("profile-ingest-low", _PROFILE_WORK, lane_of="profile-ingest"),
        # profile-ingest's copies of the images a fetch names (services/profile_ingest/media.py).
        Subscription("profile-ingest-media", ("ContentFetched", "ProfileIngested")),
        Subscription(
            "viral-analysis",
            ("AnalysisRequested", "AnalysisTriggered", "AnalysisCancelled", "AnalysisUpdated"),
        ),
        Subscription("crawler", ("CrawlRequested", "ProfileIngested", "ProfileIngestFailed")),
        Subscription("alerts", _ALERTS),
        Subscription("projector", ("#",)),
    )
}


class TopologyMismatch(Exception):
    """A consumer's handler map and the queue bindings declared for it disagree."""


def bindings_of(handled: Collection[type[Event]]) -> tuple[str, ...]:
    """The routing keys a consumer's queue needs: one per event type it handles."""
    return tuple(sorted(cls.event_type for cls in handled))


def check_bindings(subscription: Subscription, handled: Collection[type[Event]]) -> None:
    """The declared bindings are exactly those derived from the handler map ('#': every event)."""
    declared = (
        set(bindings_of(REGISTRY.values())) if subscription.bindings == ("#",) else set(subscription.bindings)
    )
    derived = set(bindings_of(handled))
    if declared != derived:
        raise TopologyMismatch(
            f"{subscription.consumer}: bound but not handled {sorted(declared - derived)}, "
            f"handled but not bound {sorted(derived - declared)}"
        )


@dataclass(frozen=True)
class RetryLadder:
    """Exponential backoff through one delay queue per attempt, then the dead-letter queue."""

    max_retries: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 300.0

    def delay_s(self, attempt: int) -> float:
        return exponential(attempt, self.base_delay_s, self.max_delay_s)


@dataclass(frozen=True)
class Topology:
    namespace: str = "viralspot"
    retry: RetryLadder = field(default_factory=RetryLadder)
    # "quorum" in cluster mode (see declare).
    queue_type: str = "classic"
    subscriptions: dict[str, Subscription] = field(default_factory=lambda: dict(SUBSCRIPTIONS))

    @property
    def exchange(self) -> str:
        return f"{self.namespace}.events"

    def queue(self, consumer: str) -> str:
        return f"{self.namespace}.{consumer}"

    def retry_queue(self, consumer: str, attempt: int) -> str:
        return f"{self.queue(consumer)}.retry.{attempt}"

    def dead_letter_queue(self, consumer: str) -> str:
        return f"{self.queue(consumer)}.dlq"

    def live_queue(self, listener: str) -> str:
        """A per-process fan-out queue; the namespace keeps tests and benches apart."""
        return f"{self.namespace}.live.{listener}"

    def all_queues(self) -> list[str]:
        names = []
        for consumer in self.subscriptions:
            names.append(self.queue(consumer))
            names.append(self.dead_letter_queue(consumer))
            names.extend(self.retry_queue(consumer, a) for a in range(1, self.retry.max_retries + 1))
        return names


def queue_arguments(topology: Topology, sub: Subscription) -> dict[str, Any]:
    """A subscription's work queue. In cluster mode a quorum queue, replicated across nodes; except the
    profile work queue, a classic priority queue, since RabbitMQ 3.10's quorum queues have no
    priorities (4.x gives them two levels, not the ten this queue uses): it lives on one node."""
    if sub.max_priority:
        return {"x-max-priority": sub.max_priority}
    return _quorum(topology)


def _quorum(topology: Topology) -> dict[str, Any]:
    return {"x-queue-type": "quorum"} if topology.queue_type == "quorum" else {}


async def declare(channel: AbstractChannel, topology: Topology) -> AbstractExchange:
    exchange = await channel.declare_exchange(topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    for sub in topology.subscriptions.values():
        args = queue_arguments(topology, sub)
        queue = await channel.declare_queue(topology.queue(sub.consumer), durable=True, arguments=args)
        for key in () if sub.lane_of else sub.bindings:
            await queue.bind(exchange, routing_key=key)
        await channel.declare_queue(
            topology.dead_letter_queue(sub.consumer), durable=True, arguments=_quorum(topology)
        )
        retry_args: dict[str, Any] = {}
        if topology.queue_type == "quorum":
            # A retry's expiry must not lose it: at-least-once dead-lettering (which needs reject-publish).
            retry_args = {
                **_quorum(topology),
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            }
        for attempt in range(1, topology.retry.max_retries + 1):
            # Expired messages fall back through the default exchange into the consumer's own queue.
            await channel.declare_queue(
                topology.retry_queue(sub.consumer, attempt),
                durable=True,
                arguments={
                    **retry_args,
                    "x-message-ttl": int(topology.retry.delay_s(attempt) * 1000),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": topology.queue(sub.consumer),
                },
            )
    return exchange


# What a person following an analysis sees change: the gateway streams these to its web page.
LIVE_ANALYSIS_EVENTS: tuple[str, ...] = (
    "AnalysisStarted",
    "ProgressUpdated",
    "CompetitorStatusChanged",
    "AnalysisCompleted",
    "AnalysisFailed",
    "AnalysisCancelled",
)
# And a user's alerts as they are found (GET /api/alerts/events).
LIVE_ALERT_EVENTS: tuple[str, ...] = ("OutlierDetected",)
# And what the competitor picker waits for (services/gateway/projection_wait.py): an on-demand fetch's
# result, and a profile ingestion's end (ProfileCategorised is committed with every ProfileIngested and is
# small; the ingestion itself carries a profile's reels).
LIVE_PICKER_EVENTS: tuple[str, ...] = (
    "SimilarAccountsFetched",
    "SimilarAccountsFetchFailed",
    "ProfileCategorised",
    "ProfileIngestFailed",
)


async def declare_live_queue(
    channel: AbstractChannel,
    topology: Topology,
    listener: str,
    bindings: tuple[str, ...] = LIVE_ANALYSIS_EVENTS + LIVE_ALERT_EVENTS + LIVE_PICKER_EVENTS,
    max_length: int = 10_000,
) -> AbstractQueue:
    """An exclusive, auto-deleted queue of one process bound to `bindings`: a live view, not work.

    Nothing in it is worth keeping when the process goes, and a stalled listener loses the oldest
    messages rather than growing the broker's memory.
    """
    exchange = await channel.declare_exchange(topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(
        topology.live_queue(listener),
        durable=False,
        exclusive=True,
        auto_delete=True,
        arguments={"x-max-length": max_length, "x-overflow": "drop-head"},
    )
    for key in bindings:
        await queue.bind(exchange, routing_key=key)
    return queue


async def message_count(channel: AbstractChannel, name: str) -> int:
    """Messages ready in a queue, as the broker reports them now. robust=False: a robust channel
    answers a repeated passive declare from its cache, stale. A missing queue closes the channel."""
    queue: AbstractQueue
    if isinstance(channel, AbstractRobustChannel):
        queue = await channel.declare_queue(name, passive=True, robust=False)
    else:
        queue = await channel.declare_queue(name, passive=True)
    return queue.declaration_result.message_count or 0


async def delete(channel: AbstractChannel, topology: Topology) -> None:
    """Remove everything `declare` made (tests clean up their own namespace with it)."""
    for name in topology.all_queues():
        await channel.queue_delete(name)
    await channel.exchange_delete(topology.exchange)
