"""`viralspot dlq list/show/requeue/discard` against real dead-lettered messages."""

from __future__ import annotations

import aio_pika
import asyncpg
import orjson

from libs.events import Envelope, Event, Topology
from libs.events.catalog import ProfileRequested
from libs.events.publisher import to_message
from libs.runtime import ServiceRuntime
from tests.integration.test_consumer import counts, envelope, publish
from tests.ops.conftest import viralspot
from tests.support.counting import COUNTS_TABLE, count
from tests.support.infra import eventually, queue_depth
from tests.support.runtime import running


async def dead_letter_depth(amqp: aio_pika.abc.AbstractConnection, topology: Topology) -> int:
    channel = await amqp.channel()
    try:
        return await queue_depth(channel, topology.dead_letter_queue("counter"))
    finally:
        await channel.close()


async def test_poison_is_shown_and_discarded_and_a_good_dead_letter_is_requeued_and_processed(
    pool: asyncpg.Pool,
    amqp: aio_pika.abc.AbstractRobustConnection,
    topology: Topology,
    settings,
    cli_env: dict[str, str],
) -> None:
    await pool.execute(COUNTS_TABLE)
    outage = {"on": True}

    async def handler(conn: asyncpg.Connection, e: Envelope, ev: Event) -> None:
        if outage["on"]:
            raise RuntimeError("downstream is down")
        await count(conn, e, ev)

    runtime = ServiceRuntime("counter", settings, publishes=False)
    runtime.add_consumer("counter", {ProfileRequested: handler})
    good = envelope("good_one")
    async with running(runtime):
        await publish(amqp, topology, to_message(good))
        await publish(amqp, topology, aio_pika.Message(b"{this is not json", message_id="bad-json"))
        await eventually(lambda: _depth_is(amqp, topology, 2), timeout_s=30, message="two dead letters")

        listed = await viralspot(cli_env, "dlq", "list", "counter")
        assert listed.code == 0 and f"{topology.dead_letter_queue('counter')}" in listed.stdout
        assert listed.stdout.split()[-1] == "2"
        everything = await viralspot(cli_env, "dlq", "list")
        assert everything.code == 0 and topology.dead_letter_queue("projector") in everything.stdout

        shown = await viralspot(cli_env, "dlq", "show", "counter", "--json")
        assert shown.code == 0, shown.stderr
        parked = {m["dead_letter_reason"]: m for m in map(orjson.loads, shown.stdout.splitlines())}
        assert set(parked) == {"retries_exhausted", "undecodable"}
        failed = parked["retries_exhausted"]
        assert failed["event_id"] == str(good.event_id) and failed["event_type"] == "ProfileRequested"
        assert failed["attempts"] == topology.retry.max_retries and "downstream is down" in failed["error"]
        assert failed["original_queue"] == topology.queue("counter")
        assert parked["undecodable"]["message_id"] == "bad-json"
        assert parked["undecodable"]["body"] == "{this is not json"
        text = await viralspot(cli_env, "dlq", "show", "counter")
        assert "reason=undecodable" in text.stdout and "error: " in text.stdout
        assert await dead_letter_depth(amqp, topology) == 2  # showing consumed nothing

        discarded = await viralspot(cli_env, "dlq", "discard", "counter", "--id", "bad-json")
        assert discarded.code == 0 and "1 message(s) discarded" in discarded.stdout
        assert await dead_letter_depth(amqp, topology) == 1

        outage["on"] = False
        requeued = await viralspot(cli_env, "dlq", "requeue", topology.dead_letter_queue("counter"), "--all")
        assert requeued.code == 0 and "1 message(s) requeued" in requeued.stdout
        applied = await eventually(lambda: _counted(pool), timeout_s=30, message="requeued event applied")
        assert applied == {good.event_id: 1}
        assert await dead_letter_depth(amqp, topology) == 0

        absent = await viralspot(cli_env, "dlq", "discard", "counter", "--id", "no-such-id")
        assert absent.code == 1 and "not found" in absent.stdout


async def _depth_is(amqp: aio_pika.abc.AbstractConnection, topology: Topology, n: int) -> bool:
    return await dead_letter_depth(amqp, topology) == n


async def _counted(pool: asyncpg.Pool) -> dict | None:
    return await counts(pool) or None
