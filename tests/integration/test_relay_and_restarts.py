"""The outbox relay and the consumers across broker restarts and dropped database connections."""

import asyncio

import aio_pika
import asyncpg
import pytest

from libs.events import EventStore, NewEvent, Topology, WrongExpectedVersion
from libs.events.catalog import ProfileRequested
from libs.events.db import is_transient_database_error
from libs.runtime import ServiceRuntime
from services.projector import __main__ as projector
from tests.support import infra
from tests.support.counting import COUNTS_TABLE, counting_runtime
from tests.support.runtime import running

store = EventStore(producer="gateway")


def projector_runtime(settings) -> ServiceRuntime:
    return projector.build(settings, batch_size=128)


async def append_requests(pool: asyncpg.Pool, n: int, rate_per_s: float, prefix: str = "user") -> None:
    """Append n new profile requests at a steady rate, as the gateway would."""
    interval = 1.0 / rate_per_s
    for i in range(n):
        name = f"{prefix}{i}"
        event = NewEvent(
            event=ProfileRequested(username=name, source="test", priority="HIGH", request_id=f"{i:08x}")
        )
        while True:  # a client retries when its database session is cut; version 0 makes it safe
            try:
                async with pool.acquire() as conn:
                    await store.append(conn, f"profile-{name}", [event], expected_version=0)
                break
            except (WrongExpectedVersion, asyncpg.UniqueViolationError):
                break  # the first try committed; only its answer was lost with the session
            except Exception as exc:
                if not is_transient_database_error(exc):
                    raise
                await asyncio.sleep(0.05)
        await asyncio.sleep(interval)


async def assert_everything_applied_exactly_once(pool: asyncpg.Pool, n: int) -> None:
    async def all_projected() -> bool:
        projected = await pool.fetchval("SELECT count(*) FROM readmodel.profile_queue")
        counted = await pool.fetchval("SELECT count(*) FROM public.test_counts")
        return projected == n and counted == n

    await infra.eventually(all_projected, timeout_s=90, message=f"{n} events projected and counted")
    assert await pool.fetchval("SELECT count(*) FROM eventstore.events WHERE published_at IS NULL") == 0
    assert await pool.fetchval("SELECT max(n) FROM public.test_counts") == 1
    assert await pool.fetchval("SELECT count(DISTINCT request_id) FROM readmodel.profile_queue") == n
    assert await pool.fetchval("SELECT count(*) FROM readmodel.stream_checkpoints WHERE version = 1") == n


async def test_relay_publishes_every_committed_event_once_in_stream_order(
    pool: asyncpg.Pool, amqp: aio_pika.abc.AbstractRobustConnection, settings
) -> None:
    await pool.execute(COUNTS_TABLE)
    async with running(
        projector_runtime(settings), counting_runtime(settings), ServiceRuntime("gateway", settings)
    ):
        await append_requests(pool, 300, rate_per_s=2000)
        await assert_everything_applied_exactly_once(pool, 300)


@pytest.mark.slow
async def test_broker_restart_while_publishing_loses_and_duplicates_nothing(
    pool: asyncpg.Pool, amqp: aio_pika.abc.AbstractRobustConnection, topology: Topology, settings
) -> None:
    await pool.execute(COUNTS_TABLE)
    n = 600
    async with running(
        projector_runtime(settings), counting_runtime(settings), ServiceRuntime("gateway", settings)
    ):
        producing = asyncio.create_task(append_requests(pool, n, rate_per_s=100))
        await asyncio.sleep(1.5)
        await infra.restart_broker(down_s=1.0)
        await producing
        await assert_everything_applied_exactly_once(pool, n)


async def test_dropped_database_connections_lose_nothing(
    pool: asyncpg.Pool, amqp: aio_pika.abc.AbstractRobustConnection, database_url: str, settings
) -> None:
    await pool.execute(COUNTS_TABLE)
    n = 400
    async with running(
        projector_runtime(settings), counting_runtime(settings), ServiceRuntime("gateway", settings)
    ):
        producing = asyncio.create_task(append_requests(pool, n, rate_per_s=200))
        for _ in range(3):
            await asyncio.sleep(0.5)
            # Every other session on this database goes away, as in a failover or restart.
            await pool.execute(
                """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                   WHERE datname = current_database() AND pid <> pg_backend_pid()"""
            )
        await producing
        await assert_everything_applied_exactly_once(pool, n)
