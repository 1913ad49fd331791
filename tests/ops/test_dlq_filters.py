"""`viralspot dlq requeue/discard` with filters: they touch exactly what they say, count and show it
first (--dry-run touches nothing), ask above a threshold, and take each message once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import aio_pika
import orjson

from libs.events import Topology
from libs.events.publisher import to_message
from tests.integration.test_consumer import envelope
from tests.ops.conftest import viralspot
from tests.support.infra import queue_depth

HOUR_AGO = (datetime.now(UTC) - timedelta(hours=1)).isoformat()


async def park(amqp: aio_pika.abc.AbstractConnection, topology: Topology) -> dict[str, str]:
    """Dead letters as the consumer parks them: 3 old ones of profile streams, 2 fresh ones of crawl
    streams, 1 old one of another type and reason; their event ids by label."""
    ids: dict[str, str] = {}
    channel = await amqp.channel(publisher_confirms=True)
    try:
        now = datetime.now(UTC).isoformat()
        for label, stream, event_type, reason, failed_at in [
            *(
                (f"old-{i}", f"profile-old{i}", "ProfileRequested", "retries_exhausted", HOUR_AGO)
                for i in range(3)
            ),
            *((f"new-{i}", f"crawl-new{i}", "ProfileRequested", "retries_exhausted", now) for i in range(2)),
            ("other", "profile-other", "ProfileIngestFailed", "handler_rejected", HOUR_AGO),
        ]:
            e = envelope(label)
            message = to_message(e)
            message.type = event_type
            message.headers = {
                **(message.headers or {}),
                "x-dead-letter-reason": reason,
                "x-failed-at": failed_at,
                "x-attempts": 3,
                "stream_id": stream,
            }
            await channel.default_exchange.publish(message, routing_key=topology.dead_letter_queue("counter"))
            ids[label] = str(e.event_id)
    finally:
        await channel.close()
    return ids


async def depth(amqp: aio_pika.abc.AbstractConnection, name: str) -> int:
    channel = await amqp.channel()
    try:
        return await queue_depth(channel, name)
    finally:
        await channel.close()


async def shown_ids(cli_env: dict[str, str]) -> list[str]:
    shown = await viralspot(cli_env, "dlq", "show", "counter", "--json")
    return [m["event_id"] for m in map(orjson.loads, shown.stdout.splitlines())]


async def test_filters_touch_exactly_what_they_say(
    amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, cli_env: dict[str, str]
) -> None:
    ids = await park(amqp, topology)
    dlq, work = topology.dead_letter_queue("counter"), topology.queue("counter")
    before_work = await depth(amqp, work)

    # A dry run names what it would requeue, and touches nothing.
    dry = await viralspot(
        cli_env, "dlq", "requeue", "counter", "--stream", "profile-old*", "--older-than", "30m", "--dry-run"
    )
    assert dry.code == 0 and "3 message(s) would be requeued" in dry.stdout, dry.stdout
    assert all(ids[f"old-{i}"] in dry.stdout for i in range(3)) and ids["other"] not in dry.stdout
    assert await depth(amqp, dlq) == 6 and await depth(amqp, work) == before_work

    # Above the threshold without --yes (and no terminal to ask): refused, nothing touched.
    refused = await viralspot(cli_env, "dlq", "requeue", "counter", "--all", "--confirm-above", "2")
    assert refused.code != 0 and "add --yes" in refused.stderr + refused.stdout
    assert await depth(amqp, dlq) == 6

    # Type and age together, at most 2: two of the three old ProfileRequested, nothing else.
    done = await viralspot(
        cli_env,
        "dlq",
        "requeue",
        "counter",
        "--type",
        "ProfileRequested",
        "--older-than",
        "30m",
        "--limit",
        "2",
    )
    assert done.code == 0 and "2 message(s) requeued" in done.stdout, done.stdout
    assert await depth(amqp, dlq) == 4 and await depth(amqp, work) == before_work + 2
    left = set(await shown_ids(cli_env))
    assert sum(ids[f"old-{i}"] in left for i in range(3)) == 1
    assert {ids["new-0"], ids["new-1"], ids["other"]} <= left

    # Discard by reason: only the other type's.
    gone = await viralspot(cli_env, "dlq", "discard", "counter", "--reason", "handler_rejected")
    assert gone.code == 0 and "1 message(s) discarded" in gone.stdout
    assert ids["other"] not in await shown_ids(cli_env) and await depth(amqp, dlq) == 3

    # Nothing selected is refused rather than taken as everything.
    bare = await viralspot(cli_env, "dlq", "requeue", "counter")
    assert bare.code != 0 and await depth(amqp, dlq) == 3
    # The rest, with --yes past the threshold: each message once.
    rest = await viralspot(cli_env, "dlq", "requeue", "counter", "--all", "--yes", "--confirm-above", "1")
    assert rest.code == 0 and "3 message(s) requeued" in rest.stdout
    assert await depth(amqp, dlq) == 0 and await depth(amqp, work) == before_work + 5


async def test_a_requeue_interrupted_before_removing_its_dead_letter_is_not_sent_again(
    amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, cli_env: dict[str, str], pool
) -> None:
    ids = await park(amqp, topology)
    dlq, work = topology.dead_letter_queue("counter"), topology.queue("counter")
    before_work = await depth(amqp, work)
    # As a run killed after the broker confirmed the copy of old-0 and its record committed, before the
    # dead letter's ack, leaves it: the record is there and so is the dead letter.
    await pool.execute(
        "INSERT INTO eventstore.dlq_requeues (consumer, message_key, failed_at) VALUES ('counter', $1, $2)",
        ids["old-0"],
        HOUR_AGO,
    )
    result = await viralspot(cli_env, "dlq", "requeue", "counter", "--stream", "profile-old*", "--yes")
    assert result.code == 0, result.stdout + result.stderr
    assert (
        f"already requeued by an earlier run that stopped before removing it: {ids['old-0']}" in result.stdout
    )
    assert "3 message(s) requeued" in result.stdout
    assert await depth(amqp, work) == before_work + 2 and await depth(amqp, dlq) == 3
    recorded = await pool.fetchval("SELECT count(*) FROM eventstore.dlq_requeues WHERE consumer = 'counter'")
    assert recorded == 3

    # The same event dead-lettered again later is a new dead letter: requeued again.
    channel = await amqp.channel(publisher_confirms=True)
    message = to_message(envelope("old-0").model_copy(update={"event_id": uuid.UUID(ids["old-0"])}))
    message.headers = {
        "x-dead-letter-reason": "retries_exhausted",
        "x-failed-at": datetime.now(UTC).isoformat(),
    }
    await channel.default_exchange.publish(message, routing_key=dlq)
    await channel.close()
    again = await viralspot(cli_env, "dlq", "requeue", "counter", "--id", ids["old-0"], "--yes")
    assert again.code == 0 and "1 message(s) requeued" in again.stdout, again.stdout
    assert await depth(amqp, work) == before_work + 3
