"""A consumer whose effect is not idempotent by itself: it counts applications of each event. Any count
above 1 after a crash, a redelivery or a broker restart means the consumer applied an event twice."""

from __future__ import annotations

import asyncio
import os

import asyncpg

from libs.events import Envelope, Event
from libs.events.catalog import ProfileRequested
from libs.runtime import ServiceRuntime, ServiceSettings, run

COUNTS_TABLE = """CREATE TABLE IF NOT EXISTS public.test_counts (
                      event_id uuid PRIMARY KEY, n integer NOT NULL)"""


async def count(conn: asyncpg.Connection, envelope: Envelope, _event: Event) -> None:
    await conn.execute(
        """INSERT INTO public.test_counts (event_id, n) VALUES ($1, 1)
           ON CONFLICT (event_id) DO UPDATE SET n = test_counts.n + 1""",
        envelope.event_id,
    )
    delay = float(os.environ.get("COUNTER_DELAY_S", "0"))
    if delay:
        await asyncio.sleep(delay)


def counting_runtime(settings: ServiceSettings, *, batch_size: int = 1, prefetch: int = 16) -> ServiceRuntime:
    runtime = ServiceRuntime("counter", settings, publishes=False)
    runtime.add_consumer("counter", {ProfileRequested: count}, batch_size=batch_size, prefetch=prefetch)
    return runtime


async def _main() -> None:
    # The test declared the counter's queues before starting this process.
    settings = ServiceSettings(ops_port=int(os.environ["OPS_PORT"]))
    runtime = counting_runtime(settings, batch_size=int(os.environ.get("COUNTER_BATCH", "1")))
    await runtime.run_until_signalled()


if __name__ == "__main__":
    run(_main, "counter")
