"""The consumer against real RabbitMQ and PostgreSQL: poison, retries with backoff, dead letters, dedup."""

import asyncio
import itertools
import time
import uuid
from datetime import UTC, datetime

import aio_pika
import asyncpg
import orjson
import pytest

from libs.events import Envelope, Event, Topology
from libs.events.catalog import ProfileRequested, ProfileRequestPromoted, SimilarAccountsRequested
from libs.events.publisher import to_message
from libs.events.topology import TopologyMismatch
from libs.runtime import ServiceRuntime
from tests.support.counting import COUNTS_TABLE, count, counting_runtime
from tests.support.infra import eventually, queue_depth
from tests.support.runtime import running


def envelope(
    name: str = "alice", payload: dict | None = None, event_type: str = "ProfileRequested"
) -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=event_type,
        occurred_at=datetime.now(UTC),
        producer="test",
        stream_id=f"profile-{name}",
        stream_version=1,
        correlation_id=uuid.uuid4(),
        payload=payload
        if payload is not None
        else {"username": name, "source": "test", "priority": "HIGH", "request_id": uuid.uuid4().hex[:8]},
    )


async def publish(
    amqp: aio_pika.abc.AbstractConnection, topology: Topology, message: aio_pika.Message
) -> None:
    channel = await amqp.channel(publisher_confirms=True)
    exchange = await channel.get_exchange(topology.exchange)
    await exchange.publish(message, routing_key="ProfileRequested")
    await channel.close()


async def counts(pool: asyncpg.Pool) -> dict[uuid.UUID, int]:
    return {r["event_id"]: r["n"] for r in await pool.fetch("SELECT event_id, n FROM public.test_counts")}


async def dead_letters(amqp: aio_pika.abc.AbstractConnection, topology: Topology, n: int) -> list:
    channel = await amqp.channel()
    queue = await channel.declare_queue(topology.dead_letter_queue("counter"), passive=True)
    got = []
    for _ in range(n):
        message = await queue.get(timeout=5, fail=True)
        assert message is not None
        got.append(message)
        await message.ack()
    await channel.close()
    return got


async def test_poison_messages_are_dead_lettered_with_reasons_while_good_ones_flow(
    pool: asyncpg.Pool, amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, settings
) -> None:
    await pool.execute(COUNTS_TABLE)
    good = [envelope("good_one"), envelope("good_two")]
    poison = [
        aio_pika.Message(b"{this is not json", message_id="bad-json"),
        to_message(envelope(event_type="SomethingNobodyKnows")),
        to_message(
            envelope(payload={"username": "NOT VALID", "source": "x", "priority": "HIGH", "request_id": "zz"})
        ),
    ]
    async with running(counting_runtime(settings)):
        await publish(amqp, topology, to_message(good[0]))
        for message in poison:
            await publish(amqp, topology, message)
        await publish(amqp, topology, to_message(good[1]))
        seen = await eventually(lambda: _counts_if(pool, 2), message="good events applied")
    assert seen == {good[0].event_id: 1, good[1].event_id: 1}
    parked = await dead_letters(amqp, topology, 3)
    reasons = sorted(m.headers["x-dead-letter-reason"] for m in parked)
    assert reasons == ["schema_invalid", "undecodable", "unknown_event_type"]
    for message in parked:
        assert message.headers["x-original-queue"] == topology.queue("counter")
        assert message.headers["x-error"]


async def _counts_if(pool: asyncpg.Pool, n: int) -> dict | None:
    current = await counts(pool)
    return current if len(current) >= n else None


async def test_failing_handler_backs_off_then_dead_letters(
    pool: asyncpg.Pool, amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, settings
) -> None:
    attempts: list[float] = []

    async def always_fails(_conn: asyncpg.Connection, _e: Envelope, _ev: Event) -> None:
        attempts.append(time.monotonic())
        raise RuntimeError("the handler is broken")

    runtime = ServiceRuntime("counter", settings, publishes=False)
    runtime.add_consumer("counter", {ProfileRequested: always_fails})
    async with running(runtime):
        await publish(amqp, topology, to_message(envelope()))
        (parked,) = await eventually(lambda: _parked(amqp, topology), timeout_s=30, message="dead letter")
    retries = topology.retry.max_retries
    assert len(attempts) == retries + 1
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    for attempt, gap in enumerate(gaps, start=1):
        assert gap >= topology.retry.delay_s(attempt) * 0.9, gaps  # exponential: 0.2 s, 0.4 s, 0.8 s
    assert gaps == sorted(gaps)
    assert parked.headers["x-dead-letter-reason"] == "retries_exhausted"
    assert parked.headers["x-attempts"] == retries
    assert "the handler is broken" in parked.headers["x-error"]


async def _parked(amqp: aio_pika.abc.AbstractConnection, topology: Topology) -> list | None:
    channel = await amqp.channel()
    try:
        queue = await channel.declare_queue(topology.dead_letter_queue("counter"), passive=True)
        message = await queue.get(fail=False)
        if message is None:
            return None
        await message.ack()
        return [message]
    finally:
        await channel.close()


async def test_handler_that_fails_twice_then_succeeds_applies_the_event_once(
    pool: asyncpg.Pool, amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, settings
) -> None:
    await pool.execute(COUNTS_TABLE)
    failures = {"left": 2}

    async def flaky(conn: asyncpg.Connection, e: Envelope, ev: Event) -> None:
        await count(conn, e, ev)  # written, then rolled back with the failure
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("transient")

    runtime = ServiceRuntime("counter", settings, publishes=False)
    runtime.add_consumer("counter", {ProfileRequested: flaky})
    event = envelope()
    async with running(runtime):
        await publish(amqp, topology, to_message(event))
        assert await eventually(lambda: _counts_if(pool, 1), message="applied") == {event.event_id: 1}
    channel = await amqp.channel()
    assert await queue_depth(channel, topology.dead_letter_queue("counter")) == 0


async def test_redelivered_event_is_applied_once(
    pool: asyncpg.Pool, amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, settings
) -> None:
    await pool.execute(COUNTS_TABLE)
    event = envelope()
    async with running(counting_runtime(settings, batch_size=8)):
        for _ in range(3):
            await publish(amqp, topology, to_message(event))
        await publish(amqp, topology, to_message(last := envelope("last")))
        await eventually(lambda: _counts_if(pool, 2), message="both applied")
        await eventually(lambda: _inbox_size(pool), message="inbox written")
    assert await counts(pool) == {event.event_id: 1, last.event_id: 1}


async def _inbox_size(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM eventstore.inbox WHERE consumer = 'counter'")


def test_orjson_is_what_the_bus_speaks() -> None:
    assert orjson.loads(envelope().to_json())["event_type"] == "ProfileRequested"


async def test_a_permanent_error_is_dead_lettered_at_once_without_the_retry_ladder(
    pool: asyncpg.Pool, amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, settings
) -> None:
    calls: list[str] = []

    async def bad_data(conn: asyncpg.Connection, _e: Envelope, _ev: Event) -> None:
        calls.append("called")
        await conn.execute("SELECT 1 / 0")  # DataError: the same on every attempt

    runtime = ServiceRuntime("counter", settings, publishes=False)
    runtime.add_consumer("counter", {ProfileRequested: bad_data})
    async with running(runtime):
        await publish(amqp, topology, to_message(envelope()))
        (parked,) = await eventually(lambda: _parked(amqp, topology), timeout_s=10, message="dead letter")
    assert calls == ["called"]
    assert parked.headers["x-dead-letter-reason"] == "permanent_failure"
    assert parked.headers["x-attempts"] == 0
    assert "DivisionByZeroError" in parked.headers["x-error"]


async def test_a_client_error_that_is_no_outage_spends_its_retries_instead_of_waiting_forever(
    pool: asyncpg.Pool, amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, settings
) -> None:
    calls: list[str] = []

    async def misuses_the_connection(_conn: asyncpg.Connection, _e: Envelope, _ev: Event) -> None:
        calls.append("called")
        raise asyncpg.InterfaceError("cannot perform operation: another operation is in progress")

    runtime = ServiceRuntime("counter", settings, publishes=False)
    runtime.add_consumer("counter", {ProfileRequested: misuses_the_connection})
    async with running(runtime):
        await publish(amqp, topology, to_message(envelope()))
        (parked,) = await eventually(lambda: _parked(amqp, topology), timeout_s=30, message="dead letter")
    assert len(calls) == topology.retry.max_retries + 1
    assert parked.headers["x-dead-letter-reason"] == "retries_exhausted"


async def test_a_consumer_whose_handler_map_disagrees_with_its_bindings_does_not_start(
    amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, settings
) -> None:
    runtime = ServiceRuntime("profile-ingest", settings, publishes=False)
    # profile-ingest's queue is bound to ProfileRequested, ProfileRequestPromoted and
    # SimilarAccountsRequested: two are missing.
    runtime.add_consumer("profile-ingest", {ProfileRequested: count})
    with pytest.raises(TopologyMismatch, match="ProfileRequestPromoted"):
        await runtime.start()
    await runtime.stop()


# Everything profile-ingest's work queue is bound to (libs.events.topology), each counted.
PROFILE_WORK = {ProfileRequested: count, ProfileRequestPromoted: count, SimilarAccountsRequested: count}


def _request(name: str, priority: str) -> Envelope:
    return envelope(
        name, {"username": name, "source": "test", "priority": priority, "request_id": "0000000a"}
    )


async def test_a_diverted_message_moves_to_its_lane_once_and_the_lane_is_not_bound(
    pool: asyncpg.Pool, amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, settings
) -> None:
    await pool.execute(COUNTS_TABLE)
    runtime = ServiceRuntime("profile-ingest", settings, publishes=False)
    runtime.add_consumer(
        "profile-ingest",
        PROFILE_WORK,
        divert=lambda e: "profile-ingest-low" if getattr(e, "priority", None) == "LOW" else None,
    )
    high, low = _request("high", "HIGH"), _request("low", "LOW")
    async with running(runtime):
        for event in (high, low):
            await publish(amqp, topology, to_message(event))
        assert await eventually(lambda: _counts_if(pool, 1), message="HIGH applied") == {high.event_id: 1}
        channel = await amqp.channel()
        lane = topology.queue("profile-ingest-low")
        await eventually(lambda: queue_depth(channel, lane), message="LOW moved to its lane")
    assert await queue_depth(channel, lane) == 1  # once: the exchange did not route it there as well
    assert await queue_depth(channel, topology.queue("profile-ingest")) == 0
    queue = await channel.declare_queue(lane, passive=True)
    moved = await queue.get(timeout=5, fail=True)
    assert moved is not None and Envelope.from_json(moved.body).event_id == low.event_id
    assert moved.priority == to_message(low).priority
    await channel.close()
    assert await counts(pool) == {high.event_id: 1}


async def test_a_message_held_at_a_closed_gate_goes_back_to_its_queue_when_the_consumer_stops(
    pool: asyncpg.Pool, amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, settings
) -> None:
    await pool.execute(COUNTS_TABLE)
    gate = asyncio.Event()
    runtime = ServiceRuntime("profile-ingest", settings, publishes=False)
    runtime.add_consumer("profile-ingest", PROFILE_WORK, admit=gate.wait)
    channel = await amqp.channel()
    queue = topology.queue("profile-ingest")
    async with running(runtime):
        await publish(amqp, topology, to_message(held := _request("held", "LOW")))

        async def taken() -> bool:
            return await queue_depth(channel, queue) == 0

        await eventually(taken, message="the message delivered and held")
        await asyncio.sleep(0.3)
        assert await counts(pool) == {}
    # Stopped while the gate was shut: the message is back, unhandled, for the next process.
    await eventually(lambda: queue_depth(channel, queue), message="the held message requeued")
    assert await counts(pool) == {}
    gate.set()
    runtime = ServiceRuntime("profile-ingest", settings, publishes=False)
    runtime.add_consumer("profile-ingest", PROFILE_WORK, admit=gate.wait)
    async with running(runtime):
        assert await eventually(lambda: _counts_if(pool, 1), message="applied") == {held.event_id: 1}
    await channel.close()
