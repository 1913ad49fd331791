"""gateway.take_token against a real database: bursts, refusals with the wait, refills, and many
connections racing on one bucket (never more tokens than the capacity)."""

import asyncio
import contextlib

import asyncpg

TAKE = "SELECT gateway.take_token($1, $2, $3)"


async def test_a_burst_of_the_capacity_then_a_refusal_that_says_how_long_to_wait(pool: asyncpg.Pool) -> None:
    waits = [await pool.fetchval(TAKE, "b", 3.0, 0.5) for _ in range(4)]
    assert waits[:3] == [0, 0, 0]
    assert 1.9 < waits[3] <= 2.0  # one token at 0.5 a second
    # A refused take takes nothing: the bucket's tokens stay what the refill gave.
    assert await pool.fetchval("SELECT tokens FROM gateway.rate_buckets WHERE bucket = 'b'") < 1


async def test_time_refills_the_bucket_up_to_its_capacity(pool: asyncpg.Pool) -> None:
    for _ in range(2):
        assert await pool.fetchval(TAKE, "r", 2.0, 1.0) == 0
    assert await pool.fetchval(TAKE, "r", 2.0, 1.0) > 0
    # An hour ago, as far as the bucket knows: full again, but never beyond its capacity.
    await pool.execute("UPDATE gateway.rate_buckets SET refilled_at = refilled_at - interval '1 hour'")
    assert [await pool.fetchval(TAKE, "r", 2.0, 1.0) for _ in range(3)][:2] == [0, 0]
    assert await pool.fetchval("SELECT tokens FROM gateway.rate_buckets WHERE bucket = 'r'") < 1


async def test_buckets_are_separate(pool: asyncpg.Pool) -> None:
    assert await pool.fetchval(TAKE, "profiles:user:a", 1.0, 0.01) == 0
    assert await pool.fetchval(TAKE, "profiles:user:a", 1.0, 0.01) > 0
    assert await pool.fetchval(TAKE, "profiles:user:b", 1.0, 0.01) == 0


async def test_a_token_is_back_after_the_wait_it_was_refused_with(pool: asyncpg.Pool) -> None:
    assert [await pool.fetchval(TAKE, "t", 2.0, 2.0) for _ in range(2)] == [0, 0]  # 2 per second
    wait = await pool.fetchval(TAKE, "t", 2.0, 2.0)
    assert 0 < wait <= 0.5
    await asyncio.sleep(wait + 0.05)
    assert await pool.fetchval(TAKE, "t", 2.0, 2.0) == 0
    assert await pool.fetchval(TAKE, "t", 2.0, 2.0) > 0


async def test_racing_connections_never_get_more_than_the_capacity(pool: asyncpg.Pool) -> None:
    # A new bucket (replicas racing on its first row), taken 50 times over all the pool's connections at
    # once; a refill of 1 per 1000 s adds nothing meanwhile.
    async with contextlib.AsyncExitStack() as held:
        conns = [await held.enter_async_context(pool.acquire()) for _ in range(pool.get_max_size())]
        start = asyncio.Event()

        async def takes(conn: asyncpg.Connection) -> list[float]:
            await start.wait()
            return [await conn.fetchval(TAKE, "race", 7.0, 0.001) for _ in range(5)]

        tasks = [asyncio.create_task(takes(conn)) for conn in conns]
        start.set()
        waits = [w for ws in await asyncio.gather(*tasks) for w in ws]
    assert len(waits) == 5 * len(conns) >= 50
    assert sum(1 for w in waits if w == 0) == 7
    assert await pool.fetchval("SELECT tokens FROM gateway.rate_buckets WHERE bucket = 'race'") < 1
