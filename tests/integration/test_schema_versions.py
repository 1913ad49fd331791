"""Events that outlive their code, against real PostgreSQL and RabbitMQ: what the store and the bus hand
out is in the current version's shape, and a version newer than the code goes round for a newer
replica instead of to the dead letters."""

from __future__ import annotations

import uuid
from typing import Any

import aio_pika
import asyncpg
import orjson
import pytest
from prometheus_client import REGISTRY as METRICS

from libs.events import Envelope, Event, EventStore, NewEvent, Position, Topology
from libs.events.catalog import (
    CHAINS,
    AnalysisCancelled,
    AnalysisRequested,
    AnalysisTriggered,
    AnalysisUpdated,
    ProfileRequested,
)
from libs.events.publisher import to_message
from libs.runtime import ServiceRuntime
from tests.integration.test_consumer import _counts_if, counts, envelope, publish
from tests.support.counting import COUNTS_TABLE, counting_runtime
from tests.support.events import analysis_requested_v1, written_at
from tests.support.infra import eventually, queue_depth
from tests.support.runtime import running

QUEUE_ID = str(uuid.uuid4())
REQUESTED_V1 = analysis_requested_v1(QUEUE_ID)
TYPED_IN = [
    {"username": "fit.coach.amy", "selection_method": "manual"},
    {"username": "gym.bro.max", "selection_method": "manual"},
]


async def insert_raw(
    conn: asyncpg.Connection,
    stream_id: str,
    version: int,
    event_type: str,
    schema_version: int,
    payload: dict,
) -> uuid.UUID:
    """A row as the code of `schema_version` wrote it, past today's models."""
    event_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO eventstore.events (event_id, stream_id, stream_version, event_type, schema_version,
                                          occurred_at, producer, correlation_id, payload, metadata)
           VALUES ($1, $2, $3, $4, $5, now(), 'gateway', $1, $6, '{}')""",
        event_id,
        stream_id,
        version,
        event_type,
        schema_version,
        payload,
    )
    return event_id


async def test_the_store_hands_out_an_old_version_upcast_and_a_newer_one_as_written(
    pool: asyncpg.Pool,
) -> None:
    stream = f"analysis-{QUEUE_ID}"
    async with pool.acquire() as conn:
        old = await insert_raw(conn, stream, 1, "AnalysisRequested", 1, REQUESTED_V1)
        newer_payload = {"queue_id": QUEUE_ID, "competitors": [{"username": "amy", "picked": "later"}]}
        await insert_raw(conn, stream, 2, "AnalysisUpdated", 9, newer_payload)
        store = EventStore(producer="test")
        read = await store.read_stream(conn, stream)
        correlated = await store.read_correlation(conn, old)

        async def tailed_both() -> list[Envelope] | None:
            # Behind any transaction still running on the server (another test's): it waits for those.
            tailed = [r.envelope for r in await store.read_all(conn, after=Position())]
            return tailed if len(tailed) == 2 else None

        tailed = await eventually(tailed_both, message="both rows tailed")
    for first in (read[0], tailed[0], correlated[0]):
        assert first.event_id == old and first.schema_version == 2
        assert first.payload == {**REQUESTED_V1, "competitors": TYPED_IN}
    assert read[1].schema_version == 9 and read[1].payload == newer_payload
    # The stored row itself is history: never rewritten.
    row = await pool.fetchrow(
        "SELECT schema_version, payload FROM eventstore.events WHERE event_id = $1", old
    )
    assert (row["schema_version"], row["payload"]) == (1, REQUESTED_V1)


async def test_producers_write_the_current_version(pool: asyncpg.Pool) -> None:
    event = AnalysisRequested.model_validate({**REQUESTED_V1, "competitors": TYPED_IN})
    async with pool.acquire() as conn:
        (written,) = await EventStore(producer="gateway").append(
            conn, f"analysis-{QUEUE_ID}", [NewEvent(event=event)], expected_version=0
        )
    row = await pool.fetchrow("SELECT schema_version, payload FROM eventstore.events")
    assert written.schema_version == row["schema_version"] == AnalysisRequested.schema_version == 2
    assert row["payload"]["competitors"] == TYPED_IN


async def test_a_consumer_handed_an_old_version_sees_only_the_current_shape(
    amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, settings
) -> None:
    seen: list[tuple[dict[str, Any], int, Event]] = []

    async def handler(_conn: asyncpg.Connection, e: Envelope, ev: Event) -> None:
        seen.append((e.payload, e.schema_version, ev))

    runtime = ServiceRuntime("viral-analysis", settings, publishes=False)
    kinds = (AnalysisRequested, AnalysisTriggered, AnalysisCancelled, AnalysisUpdated)
    runtime.add_consumer("viral-analysis", dict.fromkeys(kinds, handler))
    old = written_at(1, "AnalysisRequested", REQUESTED_V1, f"analysis-{QUEUE_ID}")
    async with running(runtime):
        channel = await amqp.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(topology.exchange)
        await exchange.publish(to_message(old), routing_key="AnalysisRequested")
        await channel.close()

        async def handled() -> bool:
            return bool(seen)

        await eventually(handled, message="the old request handled")
    ((payload, version, event),) = seen
    assert version == 2 and payload == {**REQUESTED_V1, "competitors": TYPED_IN}
    assert isinstance(event, AnalysisRequested) and event.competitors[1].selection_method == "manual"


def requeued_for_newer_code() -> float:
    labels = {"service": "counter", "consumer": "counter", "event_type": "ProfileRequested"}
    return METRICS.get_sample_value("viralspot_newer_schema_requeues_total", labels) or 0


async def test_a_version_newer_than_the_code_goes_round_for_a_newer_replica_and_is_never_dead_lettered(
    pool: asyncpg.Pool,
    amqp: aio_pika.abc.AbstractRobustConnection,
    topology: Topology,
    settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await pool.execute(COUNTS_TABLE)
    newer = envelope("from_the_future").model_copy(update={"schema_version": 2})
    before = requeued_for_newer_code()
    channel = await amqp.channel()
    rounds = topology.retry.max_retries + 2  # more than its retries: none of them is spent
    async with running(counting_runtime(settings)):
        await publish(amqp, topology, to_message(newer))

        async def went_round() -> bool:
            return requeued_for_newer_code() - before >= rounds

        await eventually(went_round, timeout_s=30, message=f"requeued {rounds} times")
        assert await counts(pool) == {}
        assert await queue_depth(channel, topology.dead_letter_queue("counter")) == 0

    # A replica of the code that knows version 2 comes up: it takes the event from the delay queues.
    monkeypatch.setattr(ProfileRequested, "schema_version", 2)
    monkeypatch.setitem(CHAINS, "ProfileRequested", (lambda payload: payload,))
    async with running(counting_runtime(settings)):
        applied = await eventually(
            lambda: _counts_if(pool, 1), timeout_s=30, message="taken by a newer replica"
        )
    assert applied == {newer.event_id: 1}
    assert await queue_depth(channel, topology.dead_letter_queue("counter")) == 0
    await channel.close()


async def test_the_waits_for_newer_code_grow_to_the_ladders_last_delay_and_keep_the_body(
    pool: asyncpg.Pool, amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, settings
) -> None:
    """Bounded: the n-th wait is in delay queue min(n, RETRY_MAX); the message is moved unchanged."""
    newer = envelope("patient").model_copy(update={"schema_version": 5})
    channel = await amqp.channel()
    last = topology.retry_queue("counter", topology.retry.max_retries)
    async with running(counting_runtime(settings)):
        await publish(
            amqp, topology, aio_pika.Message(to_message(newer).body, headers={"x-newer-schema-waits": 40})
        )
        await eventually(lambda: queue_depth(channel, last), timeout_s=10, message="in the last delay queue")
    # Nobody consumes now: it comes back out of the delay queue into the work queue, and waits there.
    work = topology.queue("counter")
    await eventually(lambda: queue_depth(channel, work), timeout_s=10, message="back in the work queue")
    queue = await channel.declare_queue(work, passive=True)
    waiting = await queue.get(timeout=5, fail=True)
    assert waiting is not None
    assert waiting.headers["x-newer-schema-waits"] > 40 and "x-attempt" not in waiting.headers
    assert orjson.loads(waiting.body) == orjson.loads(newer.to_json())
    await waiting.ack()
    await channel.close()
