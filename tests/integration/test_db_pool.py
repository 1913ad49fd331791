"""The gateway's stateless pool skips asyncpg's reset query but must still hand out clean connections."""

import asyncio

from libs.events.db import FairPool, create_pool


async def test_stateless_pool_rolls_back_what_a_released_connection_left_open(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1, stateless=True)
    try:
        conn = await pool.acquire()
        await conn.execute("BEGIN")
        await conn.execute("CREATE TABLE left_open (x int)")
        await pool.release(conn)
        async with pool.acquire() as again:
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT to_regclass('left_open')") is None
    finally:
        await pool.close()


async def test_fair_pool_serves_waiters_in_arrival_order(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1, stateless=True)
    fair = FairPool(pool, 1)
    order: list[str] = []

    async def use(name: str) -> None:
        async with fair.acquire() as conn:
            order.append(name)
            await conn.fetchval("SELECT pg_sleep(0.01)")

    try:
        async with fair.acquire():
            waiting = [asyncio.create_task(use(name)) for name in ("b", "c", "d")]
            await asyncio.sleep(0.05)  # all three are queued behind the holder
            # A newcomer arriving just as the connection comes back must not overtake them.
            late = asyncio.create_task(use("late"))
        await asyncio.gather(*waiting, late)
    finally:
        await pool.close()
    assert order == ["b", "c", "d", "late"]
