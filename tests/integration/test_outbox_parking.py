"""One event the relay cannot publish must delay nothing but its own stream; parked, it is listed,
counted, and released by `viralspot outbox retry|skip` in stream order."""

import os
import uuid

import aio_pika
import asyncpg
import orjson
import pytest
from prometheus_client import REGISTRY

from libs.events import EventStore, NewEvent, Topology
from libs.events.catalog import AnalysisCompleted, ProfileRequested
from libs.runtime import ServiceRuntime
from tests.support import infra
from tests.support.cli import viralspot
from tests.support.events import analysis_result
from tests.support.runtime import running

store = EventStore(producer="gateway")


def relay_settings(settings, **extra):
    return settings.model_copy(update={"relay_retry_base_s": 0.05, "relay_max_attempts": 3, **extra})


async def observe(
    amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology
) -> aio_pika.abc.AbstractQueue:
    """A queue bound to every event: what the relay published, in the order the broker got it."""
    channel = await amqp.channel()
    exchange = await channel.get_exchange(topology.exchange)
    queue = await channel.declare_queue(f"{topology.namespace}.observer", exclusive=True)
    await queue.bind(exchange, routing_key="#")
    return queue


async def received(queue: aio_pika.abc.AbstractQueue, n: int, timeout_s: float = 20) -> list[dict]:
    bodies: list[dict] = []

    async def got_all() -> bool:
        while (message := await queue.get(fail=False)) is not None:
            await message.ack()
            bodies.append(orjson.loads(message.body))
        return len(bodies) >= n

    await infra.eventually(got_all, timeout_s=timeout_s, message=f"{n} messages published")
    return bodies


async def request(pool: asyncpg.Pool, name: str) -> None:
    event = ProfileRequested(username=name, source="test", priority="HIGH", request_id=uuid.uuid4().hex[:8])
    async with pool.acquire() as conn:
        await store.append(conn, f"profile-{name}", [NewEvent(event=event)], expected_version=None)


async def insert_unencodable(pool: asyncpg.Pool, stream: str) -> uuid.UUID:
    """An event from before payloads were checked at append: nested deeper than the encoder goes."""
    deep = '{"a": ' * 300 + "{}" + "}" * 300  # as text: our own JSON encoder refuses it too
    event_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO eventstore.events (event_id, stream_id, stream_version, event_type, occurred_at,
                                          producer, correlation_id, payload)
           VALUES ($1, $2, 1, 'ProfileRequested', now(), 'gateway', $1, $3::text::jsonb)""",
        event_id,
        stream,
        f'{{"analysis_settings": {deep}}}',
    )
    return event_id


async def published(pool: asyncpg.Pool, stream: str) -> list[int]:
    rows = await pool.fetch(
        """SELECT stream_version FROM eventstore.events WHERE stream_id = $1 AND published_at IS NOT NULL
           ORDER BY stream_version""",
        stream,
    )
    return [r["stream_version"] for r in rows]


def relay_failures() -> float:
    return REGISTRY.get_sample_value("viralspot_relay_failures_total", {"service": "gateway"}) or 0


def parked_gauge() -> float | None:
    return REGISTRY.get_sample_value("viralspot_outbox_parked", {"service": "gateway"})


async def test_an_unencodable_event_is_parked_and_holds_back_only_its_own_stream(
    pool: asyncpg.Pool, amqp, topology: Topology, settings, service_env: dict[str, str]
) -> None:
    observer = await observe(amqp, topology)
    bad = await insert_unencodable(pool, "profile-deep")
    await request(pool, "deep")  # version 2 of the held stream
    await request(pool, "first")
    async with running(ServiceRuntime("gateway", relay_settings(settings))):
        await request(pool, "second")
        got = await received(observer, 2)
        assert sorted(b["stream_id"] for b in got) == ["profile-first", "profile-second"]
        row = await pool.fetchrow("SELECT * FROM eventstore.parked_events WHERE event_id = $1", bad)
        assert row["stream_id"] == "profile-deep" and "cannot be encoded" in row["reason"]
        assert await published(pool, "profile-deep") == []
        await infra.eventually(lambda: _async(parked_gauge() == 1), message="parked gauge")

        cli_env = {**os.environ, **service_env}
        listed = await viralspot(cli_env, "outbox", "list")
        assert listed.code == 0 and str(bad) in listed.stdout and "waiting_behind=1" in listed.stdout
        dry = await viralspot(cli_env, "outbox", "skip", "--id", str(bad), "--dry-run")
        assert dry.code == 0 and "would skip" in dry.stdout
        assert await pool.fetchval("SELECT resolved_at FROM eventstore.parked_events") is None
        skipped = await viralspot(cli_env, "outbox", "skip", "--id", str(bad))
        assert skipped.code == 0, skipped.stderr
        # Skipped: never sent, marked published; the stream's later event goes out at once.
        [after] = await received(observer, 1)
        assert (after["stream_id"], after["stream_version"]) == ("profile-deep", 2)
        assert await published(pool, "profile-deep") == [1, 2]
        await infra.eventually(lambda: _async(parked_gauge() == 0), message="parked gauge back to 0")


async def test_an_event_the_broker_refuses_is_parked_then_published_in_order_after_the_fix(
    pool: asyncpg.Pool, amqp, topology: Topology, settings, service_env: dict[str, str]
) -> None:
    observer = await observe(amqp, topology)
    stream = f"analysis-{uuid.uuid4()}"
    big = AnalysisCompleted(queue_id=stream[9:], run=1, result=analysis_result({"notes": "x" * 20_000}))
    small = [AnalysisCompleted(queue_id=stream[9:], run=r, result=analysis_result({})) for r in (2, 3)]
    async with infra.broker_max_message_size(8192):
        async with pool.acquire() as conn:
            await store.append(conn, stream, [NewEvent(event=e) for e in (big, *small)], expected_version=0)
        await request(pool, "bystander")
        async with running(ServiceRuntime("gateway", relay_settings(settings))):
            [other] = await received(observer, 1)
            assert other["stream_id"] == "profile-bystander"
            row = await infra.eventually(
                lambda: pool.fetchrow("SELECT * FROM eventstore.parked_events"), message="parked"
            )
            assert row["attempts"] == 3 and "larger than configured max size" in row["reason"]
            assert await published(pool, stream) == []
    # The broker takes large messages again: retried, the stream's three events go out in order.
    async with running(ServiceRuntime("gateway", relay_settings(settings))):
        retried = await viralspot({**os.environ, **service_env}, "outbox", "retry", "--all")
        assert retried.code == 0 and "1 parked event(s) retried" in retried.stdout, retried
        got = await received(observer, 3)
        assert [(b["stream_id"], b["stream_version"]) for b in got] == [(stream, 1), (stream, 2), (stream, 3)]
    assert await pool.fetchval("SELECT resolution FROM eventstore.parked_events") == "retried"


@pytest.mark.slow
async def test_a_broker_blocking_publishers_holds_no_transaction_and_parks_nothing(
    pool: asyncpg.Pool, amqp, topology: Topology, settings
) -> None:
    observer = await observe(amqp, topology)
    async with running(ServiceRuntime("gateway", relay_settings(settings, relay_publish_timeout_s=1.0))):
        async with infra.memory_alarm():
            for i in range(5):
                await request(pool, f"blocked{i}")
            await infra.eventually(lambda: _async(relay_failures() >= 2), message="publish timeouts")
            # Nothing of the relay sits in a transaction, so readers that tail the store are not held.
            open_transactions = await pool.fetchval(
                """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                   AND pid <> pg_backend_pid() AND xact_start < now() - interval '1 second'"""
            )
            assert open_transactions == 0
            async with pool.acquire() as conn:
                assert len(await store.read_all(conn)) == 5
            assert (
                await pool.fetchval("SELECT count(*) FROM eventstore.events WHERE published_at IS NULL") == 5
            )
            assert await pool.fetchval("SELECT count(*) FROM eventstore.parked_events") == 0
        await infra.eventually(
            lambda: pool.fetchval("SELECT bool_and(published_at IS NOT NULL) FROM eventstore.events"),
            timeout_s=30,
            message="all published once the alarm cleared",
        )
        got = await received(observer, 5)
    # At least once: what the broker took unconfirmed during the alarm arrives, and is sent again.
    assert {b["stream_id"] for b in got} == {f"profile-blocked{i}" for i in range(5)}


async def _async(value: bool) -> bool:
    return value
