"""The gateway's stateless pool skips asyncpg's reset query but must still hand out clean connections."""

from libs.events.db import create_pool


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
