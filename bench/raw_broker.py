"""The raw broker round-trip the projector is compared with: aio-pika, persistent messages, confirms.

Run as a module it is the consumer side (its own process): manual acks, prefetch 512, and it prints
one JSON line with the wall-clock times of its first delivery and its last ack.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aio_pika
import orjson
import uvloop

from libs.events import Envelope
from libs.events.catalog import ProfileRequested, profile_stream
from libs.events.publisher import to_message

PREFETCH = 512
PUBLISH_BATCH = 500  # the outbox relay's batch: publishes gathered, confirms awaited together


def sample_messages(n: int) -> list[aio_pika.Message]:
    """Messages shaped like the relay's: a ProfileRequested envelope, its headers and priority."""
    messages = []
    for i in range(n):
        username = f"raw{i}"
        event = ProfileRequested(username=username, source="bench", priority="HIGH", request_id=f"{i:08x}")
        envelope = Envelope(
            event_id=uuid.uuid4(),
            event_type="ProfileRequested",
            occurred_at=datetime.now(UTC),
            producer="gateway",
            stream_id=profile_stream(username),
            stream_version=1,
            correlation_id=uuid.uuid4(),
            payload=event.model_dump(mode="json"),
        )
        messages.append(to_message(envelope))
    return messages


async def publish(amqp_url: str, queue: str, messages: list[aio_pika.Message]) -> tuple[float, float]:
    """Publish with confirms in pipelined batches; returns (first publish, last confirm) wall-clock."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(queue, durable=True)
        exchange = channel.default_exchange
        started = time.time()
        for i in range(0, len(messages), PUBLISH_BATCH):
            chunk = messages[i : i + PUBLISH_BATCH]
            await asyncio.gather(*(exchange.publish(m, routing_key=queue) for m in chunk))
        return started, time.time()
    finally:
        await connection.close()


@asynccontextmanager
async def consumer_process(
    amqp_url: str, queue: str, expected: int
) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    """The consumer in its own process, consuming once this yields; call the result to await its times."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.raw_broker",
        amqp_url,
        queue,
        str(expected),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    stdout = process.stdout

    async def times() -> Any:
        line = await asyncio.wait_for(stdout.readline(), 120)
        await process.wait()
        return orjson.loads(line)

    try:
        ready = await asyncio.wait_for(stdout.readline(), 30)
        assert ready.strip() == b"ready", ready
        yield times
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def consume(amqp_url: str, queue_name: str, expected: int) -> None:
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=PREFETCH)
    queue = await channel.declare_queue(queue_name, durable=True)
    done = asyncio.Event()
    times = {"count": 0, "first_delivery": 0.0, "last_ack": 0.0}

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        if times["count"] == 0:
            times["first_delivery"] = time.time()
        await message.ack()
        times["count"] += 1
        if times["count"] == expected:
            times["last_ack"] = time.time()
            done.set()

    await queue.consume(on_message)
    print("ready", flush=True)
    await done.wait()
    print(orjson.dumps(times).decode(), flush=True)
    await connection.close()


if __name__ == "__main__":
    uvloop.run(consume(sys.argv[1], sys.argv[2], int(sys.argv[3])))
