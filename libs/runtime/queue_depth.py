"""Reports how many messages wait in a service's queues, so a stuck consumer shows before users notice."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection

from libs.events.metrics import QUEUE_MESSAGES
from libs.events.topology import Topology, message_count

log = structlog.get_logger(__name__)


async def report_queue_depths(
    amqp: AbstractRobustConnection, topology: Topology, consumers: Sequence[str], interval_s: float
) -> None:
    """Refresh viralspot_queue_messages for each consumer's work and dead-letter queue, forever."""
    channel: AbstractRobustChannel | None = None
    queues = [(c, kind, name) for c in consumers for kind, name in _queues_of(topology, c)]
    try:
        while True:
            try:
                if channel is None or channel.is_closed:
                    channel = await amqp.channel()
                for consumer, kind, name in queues:
                    QUEUE_MESSAGES.labels(consumer, kind).set(await message_count(channel, name))
            except Exception as exc:  # the broker being away is reported by /readyz; try again later
                log.warning("queue_depth.unavailable", error=repr(exc))
                channel = None
            await asyncio.sleep(interval_s)
    finally:
        if channel is not None and not channel.is_closed:
            with contextlib.suppress(Exception):
                await channel.close()


def _queues_of(topology: Topology, consumer: str) -> list[tuple[str, str]]:
    return [("work", topology.queue(consumer)), ("dead_letter", topology.dead_letter_queue(consumer))]
