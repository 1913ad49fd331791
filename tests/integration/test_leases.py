"""The shared lease helper against a real table: renewal, loss, fencing, taking back a previous life's
leases, and the claim loop's run-once mode."""

import asyncio

import asyncpg
import pytest

from libs.leases import ClaimLoop, Lease, LeaseLost, LeaseTable, lease_owner

WORK = LeaseTable("public.work", key="id", held="status = 'running'")
TABLE = """CREATE TABLE public.work (id int PRIMARY KEY, status text NOT NULL DEFAULT 'pending',
                                     lease_owner text, lease_expires_at timestamptz)"""
CLAIM = """UPDATE public.work SET status = 'running', lease_owner = $1,
                  lease_expires_at = now() + make_interval(secs => $2)
           WHERE id = (SELECT id FROM public.work
                       WHERE status = 'pending' OR (status = 'running' AND lease_expires_at < now())
                       ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING id"""


@pytest.fixture
async def work(pool: asyncpg.Pool) -> asyncpg.Pool:
    await pool.execute(TABLE)
    await pool.executemany("INSERT INTO public.work (id) VALUES ($1)", [(i,) for i in range(1, 6)])
    return pool


async def claim(pool: asyncpg.Pool, owner: str, lease_s: float) -> Lease | None:
    key = await pool.fetchval(CLAIM, owner, lease_s)
    return None if key is None else Lease(WORK, key, owner, lease_s)


async def test_work_held_longer_than_its_lease_keeps_it(work: asyncpg.Pool) -> None:
    lease = await claim(work, lease_owner("replica-a"), 0.4)
    assert lease is not None
    assert await lease.hold(work, asyncio.sleep(1.2, result="done")) == "done"
    assert await work.fetchval("SELECT lease_expires_at > now() FROM public.work WHERE id = $1", lease.key)


async def test_a_lost_lease_cancels_the_work_at_once(work: asyncpg.Pool) -> None:
    lease = await claim(work, lease_owner("replica-a"), 0.4)
    assert lease is not None
    cancelled = asyncio.Event()

    async def long_work() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    await work.execute("UPDATE public.work SET lease_owner = 'someone-else' WHERE id = $1", lease.key)
    with pytest.raises(LeaseLost):
        await asyncio.wait_for(lease.hold(work, long_work()), 5)
    assert cancelled.is_set()


async def test_the_fence_refuses_a_write_once_the_row_is_someone_elses(work: asyncpg.Pool) -> None:
    lease = await claim(work, lease_owner("replica-a"), 30)
    assert lease is not None
    async with work.acquire() as conn, conn.transaction():
        assert (await lease.fence(conn))["id"] == lease.key
    await work.execute("UPDATE public.work SET lease_owner = 'someone-else' WHERE id = $1", lease.key)
    async with work.acquire() as conn, conn.transaction():
        with pytest.raises(LeaseLost):
            await lease.fence(conn)


async def test_a_restarted_replica_takes_back_only_its_previous_lives_leases(work: asyncpg.Pool) -> None:
    await work.execute(
        """UPDATE public.work SET status = 'running', lease_expires_at = now() + interval '1 hour',
                  lease_owner = CASE id WHEN 1 THEN 'replica-a#0ldlife/0' WHEN 2 THEN 'replica-a#0ldlife'
                                        WHEN 3 THEN 'replica-b#0ldlife/0' ELSE $1 END""",
        lease_owner("replica-a", 1),
    )
    assert await WORK.take_back(work, "replica-a") == 2
    expired = await work.fetch("SELECT id FROM public.work WHERE lease_expires_at <= now() ORDER BY id")
    assert [r["id"] for r in expired] == [1, 2]


async def test_run_once_drives_everything_due_and_returns(work: asyncpg.Pool) -> None:
    owner = lease_owner("replica-a")
    driving = 0
    most = 0
    done: list[int] = []

    async def drive(lease: Lease) -> None:
        nonlocal driving, most
        driving += 1
        most = max(most, driving)
        await lease.hold(work, asyncio.sleep(0.05))
        await work.execute("UPDATE public.work SET status = 'done' WHERE id = $1", lease.key)
        done.append(lease.key)
        driving -= 1

    loop = ClaimLoop("work", lambda: claim(work, owner, 5), drive, concurrency=2, poll_interval_s=60)
    assert await loop.run_once() == 5
    assert sorted(done) == [1, 2, 3, 4, 5] and most == 2
