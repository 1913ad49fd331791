"""Requests lost with the profile work queue's node, sent again (cluster mode only).

On a cluster the profile work queue is a classic priority queue on one node (libs.events.topology).
While that node is down, RabbitMQ 3.10 confirms a ProfileRequested that the other, replicated queues
took (the projector's, the crawler's) and drops the work queue's copy: the relay cannot tell, and the
request would wait for ever. So each replica probes the work queue every PROFILE_QUEUE_PROBE_S, and
when the queue answers again after failing, sends it, directly, every request (a profile's, or a
picker's similar accounts) published during the outage (PROFILE_QUEUE_REDRIVE_SLACK_S either side,
for the clocks of this host and the database's) whose stream has no outcome after it. A copy that
was not lost is a duplicate, and the request's claim and recorded state drop it (handlers.py), so
sending too much is safe and sending too little is not. A probe that fails because this replica's own
connection is down counts as an outage too: it only costs duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractRobustConnection
from prometheus_client import Counter

from libs.events.publisher import to_message
from libs.events.store import _COLUMNS, _envelope

log = structlog.get_logger(__name__)

OUTAGES = Counter(
    "viralspot_profile_queue_outages_total", "Times this replica found the profile work queue unavailable"
)
REDRIVEN = Counter(
    "viralspot_profile_requests_redriven_total",
    "Unfinished requests sent to the profile work queue again after its outage",
)

PROBE_TIMEOUT_S = 5.0
# What a broker that is away, or a queue whose node is down, raises (aiormq: RuntimeError on a closed
# connection).
_BROKER_ERRORS = (aio_pika.exceptions.AMQPError, ConnectionError, OSError, RuntimeError, TimeoutError)

# The predicate repeats migration 018's partial index, so the planner uses it. Each request type's
# stream ends with its own outcomes (profile-*: ingested or failed; similar-*: fetched or failed).
_UNFINISHED = f"""
SELECT {_COLUMNS} FROM eventstore.events r
WHERE r.event_type IN ('ProfileRequested', 'ProfileRequestPromoted', 'SimilarAccountsRequested')
  AND r.published_at BETWEEN $1 AND $2
  AND NOT EXISTS (
      SELECT 1 FROM eventstore.events t
      WHERE t.stream_id = r.stream_id AND t.stream_version > r.stream_version
        AND t.event_type IN ('ProfileIngested', 'ProfileIngestFailed', 'SimilarAccountsFetched',
                             'SimilarAccountsFetchFailed'))
ORDER BY r.position
"""


class WorkQueueWatch:
    def __init__(
        self, pool: asyncpg.Pool, amqp: AbstractRobustConnection, queue: str, slack_s: float
    ) -> None:
        self.pool = pool
        self.amqp = amqp
        self.queue = queue
        self.slack_s = slack_s
        self.down_since: float | None = None

    async def tick(self) -> None:
        if not await self._available():
            if self.down_since is None:
                self.down_since = time.time()
                OUTAGES.inc()
                log.warning("profile_queue.unavailable", queue=self.queue)
            return
        if self.down_since is not None:
            start, end = self.down_since - self.slack_s, time.time() + self.slack_s
            try:
                sent = await self.redrive(start, end)
            except _BROKER_ERRORS as exc:
                # The window stays open: the next tick that finds the queue sends all of it again.
                log.warning("profile_queue.redrive_failed", queue=self.queue, error=repr(exc))
                return
            self.down_since = None
            log.warning("profile_queue.back", queue=self.queue, redriven=sent)

    async def _available(self) -> bool:
        # Whatever stops the probe (a closed connection, a channel refused, a queue whose node is down,
        # no answer) means the queue cannot be relied on now; a wrong "down" only costs duplicates.
        try:
            channel = await asyncio.wait_for(self.amqp.channel(), PROBE_TIMEOUT_S)
        except Exception:
            return False
        try:
            await asyncio.wait_for(channel.declare_queue(self.queue, passive=True), PROBE_TIMEOUT_S)
            return True
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def redrive(self, start: float, end: float) -> int:
        rows = await self.pool.fetch(
            _UNFINISHED, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
        )
        if not rows:
            return 0
        channel = await self.amqp.channel(publisher_confirms=True)
        try:
            for row in rows:
                envelope = _envelope(row)
                await channel.default_exchange.publish(to_message(envelope), routing_key=self.queue)
                REDRIVEN.inc()
        finally:
            with contextlib.suppress(Exception):
                await channel.close()
        return len(rows)
