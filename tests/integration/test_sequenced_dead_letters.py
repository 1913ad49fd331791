"""Sequenced dead letters (issue 17): the projector never projects a stream past one of its events that
it dead-lettered. The later events wait, and apply in order once the dead letter is requeued."""

from __future__ import annotations

import os

import asyncpg
from prometheus_client import REGISTRY

from libs.events import NewEvent, Topology
from libs.events.catalog import ProfileIngestFailed, ProfileIngestStarted, ProfileRequested, profile_stream
from libs.runtime import ServiceRuntime
from tests.integration.test_relay_and_restarts import projector_runtime, store
from tests.support.cli import viralspot
from tests.support.infra import eventually
from tests.support.runtime import running

HELD = "held.creator"
# A projection that fails for one creator only, as a bug in a new projection would; dropped as the fix.
_BUG = """ALTER TABLE readmodel.profile_queue ADD CONSTRAINT test_bug CHECK (username <> 'held.creator')"""


async def append(pool: asyncpg.Pool, username: str, *events) -> None:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        await store.append(
            conn, profile_stream(username), [NewEvent(event=e) for e in events], expected_version=None
        )


async def checkpoint(pool: asyncpg.Pool, username: str) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT version, held_version, held_reason FROM readmodel.stream_checkpoints WHERE stream_id = $1",
        profile_stream(username),
    )


def held_events() -> float:
    return REGISTRY.get_sample_value("viralspot_projector_held_events_total") or 0.0


async def test_a_dead_lettered_event_holds_its_streams_later_events_until_requeued_then_all_apply_in_order(
    pool: asyncpg.Pool, settings, topology: Topology, service_env: dict[str, str]
) -> None:
    await pool.execute(_BUG)
    request = ProfileRequested(username=HELD, source="test", priority="HIGH", request_id="0000000a")
    started = ProfileIngestStarted(username=HELD, request_id="0000000a", attempt=1)
    failed = ProfileIngestFailed(
        username=HELD, request_id="0000000a", attempts=1, error_code="PROVIDER_UNAVAILABLE",
        reason="provider down", will_retry=False,
    )  # fmt: skip
    held_before = held_events()
    async with running(ServiceRuntime("gateway", settings), projector_runtime(settings)):
        await append(pool, HELD, request)

        async def is_held() -> asyncpg.Record | None:
            row = await checkpoint(pool, HELD)
            return row if row is not None and row["held_version"] == 1 else None

        row = await eventually(is_held, message="the stream held at its dead-lettered event")
        assert row["version"] == 0 and "test_bug" in row["held_reason"]
        # Its later events wait; another stream goes on.
        await append(pool, HELD, started, failed)
        await append(
            pool,
            "free.creator",
            request.model_copy(update={"username": "free.creator", "request_id": "0000000b"}),
        )

        async def free_projected() -> bool:
            return await pool.fetchval(
                "SELECT count(*) FROM readmodel.profile_queue WHERE username = 'free.creator'"
            )

        await eventually(free_projected, message="the other stream projected")
        await eventually(lambda: _above(held_events(), held_before + 1), message="both later events held")
        assert (await checkpoint(pool, HELD))["version"] == 0
        assert (
            await pool.fetchval("SELECT count(*) FROM readmodel.profile_queue WHERE username = $1", HELD) == 0
        )
        listed = await viralspot({**os.environ, **service_env}, "readmodels", "held")
        assert listed.code == 0 and f"{profile_stream(HELD)}  held at version 1" in listed.stdout, (
            listed.stdout
        )
        assert "2 later events waiting" in listed.stdout, listed.stdout

        await pool.execute("ALTER TABLE readmodel.profile_queue DROP CONSTRAINT test_bug")  # the fix
        requeued = await viralspot(
            {**os.environ, **service_env}, "dlq", "requeue", "projector", "--all", "--yes"
        )
        assert requeued.code == 0, requeued.stdout + requeued.stderr

        async def caught_up() -> bool:
            row = await checkpoint(pool, HELD)
            return row is not None and row["version"] == 3 and row["held_version"] is None

        await eventually(caught_up, message="the dead letter applied, then the two that waited")
    row = await pool.fetchrow(
        "SELECT status, attempts, error_message FROM readmodel.profile_queue WHERE username = $1", HELD
    )
    assert dict(row) == {"status": "FAILED", "attempts": 1, "error_message": "provider down"}
    listed = await viralspot({**os.environ, **service_env}, "readmodels", "held")
    assert listed.code == 0 and "no stream is held" in listed.stdout, listed.stdout


async def _above(value: float, floor: float) -> bool:
    return value >= floor


async def test_a_held_stream_whose_event_can_never_apply_is_skipped_past_on_request(
    pool: asyncpg.Pool, settings, service_env: dict[str, str]
) -> None:
    await pool.execute(_BUG)
    env = {**os.environ, **service_env}
    request = ProfileRequested(username=HELD, source="test", priority="HIGH", request_id="0000000c")
    started = ProfileIngestStarted(username=HELD, request_id="0000000c", attempt=1)
    async with running(ServiceRuntime("gateway", settings), projector_runtime(settings)):
        await append(pool, HELD, request)

        async def is_held() -> bool:
            row = await checkpoint(pool, HELD)
            return row is not None and row["held_version"] == 1

        await eventually(is_held, message="the stream held")
        await append(pool, HELD, started)
        unasked = await viralspot(env, "readmodels", "skip", profile_stream(HELD))
        assert unasked.code == 2 and "add --yes" in unasked.stderr, unasked.stderr
        skipped = await viralspot(env, "readmodels", "skip", profile_stream(HELD), "--yes")
        assert skipped.code == 0, skipped.stdout + skipped.stderr
        assert f"skipped {profile_stream(HELD)}@1" in skipped.stdout, skipped.stdout
        row = await checkpoint(pool, HELD)
        assert row["version"] == 2 and row["held_version"] is None
        again = await viralspot(env, "readmodels", "skip", profile_stream(HELD), "--yes")
        assert again.code == 2 and "is not held" in again.stderr, again.stderr


async def test_a_gap_holding_an_event_of_a_newer_version_is_deferred_not_projected(
    pool: asyncpg.Pool,
) -> None:
    """An older projector filling a gap from the store must not apply a payload newer code wrote."""
    from libs.events import Deferred, EventStore
    from services.projector.handlers import Projector

    ingest = EventStore(producer="profile-ingest")
    request = ProfileRequested(username="gap.creator", source="test", priority="HIGH", request_id="0000000d")
    started = ProfileIngestStarted(username="gap.creator", request_id="0000000d", attempt=1)
    async with pool.acquire() as conn:
        first, second, third = await ingest.append(
            conn, profile_stream("gap.creator"), [NewEvent(event=e) for e in (request, started, started)],
            expected_version=0,
        )  # fmt: skip
        await conn.execute(
            "UPDATE eventstore.events SET schema_version = 99 WHERE event_id = $1", second.event_id
        )
        projector = Projector(ingest)
        async with conn.transaction():
            await projector.apply_batch(conn, [(first, first.event())])
        try:
            async with conn.transaction():
                await projector.apply_batch(conn, [(third, third.event())])
        except Deferred as deferred:
            assert "newer schema version" in str(deferred)
        else:
            raise AssertionError("the gap's newer event was projected")
        assert await conn.fetchval(
            "SELECT version FROM readmodel.stream_checkpoints WHERE stream_id = $1", profile_stream("gap.creator")
        ) == 1  # fmt: skip
