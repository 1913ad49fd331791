import asyncio

import asyncpg
import pytest

from libs.events import EventStore, NewEvent, Position, WrongExpectedVersion
from libs.events.catalog import ProfileRequested

store = EventStore(producer="test")


def requested(name: str = "alice", rid: str = "0000000a") -> NewEvent:
    return NewEvent(event=ProfileRequested(username=name, source="test", priority="HIGH", request_id=rid))


async def test_append_assigns_versions_and_reads_back_in_order(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await store.append(
            conn, "profile-alice", [requested(), requested(rid="0000000b")], expected_version=0
        )
        await store.append(conn, "profile-alice", [requested(rid="0000000c")], expected_version=2)
        events = await store.read_stream(conn, "profile-alice")
    assert [e.stream_version for e in events] == [1, 2, 3]
    assert [e.payload["request_id"] for e in events] == ["0000000a", "0000000b", "0000000c"]
    assert len({e.correlation_id for e in events[:2]}) == 1  # one append, one correlation


async def test_stale_expected_version_is_rejected(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await store.append(conn, "profile-alice", [requested()], expected_version=0)
        with pytest.raises(WrongExpectedVersion):
            await store.append(conn, "profile-alice", [requested(rid="0000000b")], expected_version=0)
        assert await store.stream_version(conn, "profile-alice") == 1


async def test_concurrent_writers_on_one_stream_have_one_winner(pool: asyncpg.Pool) -> None:
    async def writer(i: int) -> bool:
        async with pool.acquire() as conn:
            try:
                async with conn.transaction():
                    await store.append(
                        conn, "profile-race", [requested("race", f"{i:08x}")], expected_version=0
                    )
                return True
            except WrongExpectedVersion:
                return False

    results = await asyncio.gather(*(writer(i) for i in range(10)))
    assert results.count(True) == 1


async def test_read_all_holds_back_until_a_late_commit_then_returns_it(pool: asyncpg.Pool) -> None:
    """T1 takes a position first but commits last; a tailing reader must not skip its event."""
    slow = await pool.acquire()
    try:
        tx = slow.transaction()
        await tx.start()
        await store.append(slow, "profile-slow", [requested("slow")], expected_version=0)
        async with pool.acquire() as fast:
            await store.append(fast, "profile-fast", [requested("fast")], expected_version=0)
            seen = await store.read_all(fast, after=Position())
            # The fast event committed, but its transaction began after the still-running slow one.
            assert [r.envelope.stream_id for r in seen] == []
            await tx.commit()
            seen = await store.read_all(fast, after=Position())
            assert sorted(r.envelope.stream_id for r in seen) == ["profile-fast", "profile-slow"]
            checkpoint = max(r.position for r in seen)
            await store.append(fast, "profile-next", [requested("next")], expected_version=0)
            after = await store.read_all(fast, after=checkpoint)
            assert [r.envelope.stream_id for r in after] == ["profile-next"]
    finally:
        await pool.release(slow)


async def test_a_fold_reads_a_profile_stream_without_its_snapshots_and_decides_the_same(
    pool: asyncpg.Pool,
) -> None:
    from libs.events.catalog import ProfileIngestStarted, profile_stream
    from libs.profiles import NOT_FOLDED, fold
    from tests.support.projector import ingested, reel

    store = EventStore(producer="profile-ingest")
    stream = profile_stream("alice")
    async with pool.acquire() as conn:
        await store.append(conn, stream, [requested()], expected_version=0)
        await store.append(
            conn, stream,
            [NewEvent(event=ProfileIngestStarted(username="alice", request_id="0000000a", attempt=1)),
             NewEvent(event=ingested("alice", [reel(str(k), 100 * k) for k in range(1, 40)]))],
            expected_version=1,
        )  # fmt: skip
        whole = await store.read_stream(conn, stream)
        light = await store.read_stream(conn, stream, without=NOT_FOLDED)
    assert [e.stream_version for e in light] == [e.stream_version for e in whole] == [1, 2, 3]
    assert "reels" in whole[2].payload and not set(NOT_FOLDED) & set(light[2].payload)
    assert fold(light) == fold(whole) and fold(light).status == "completed"
