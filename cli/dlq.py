"""`viralspot dlq ...`: count, inspect, requeue or discard dead-lettered messages.

Messages are taken with basic.get and held unacked; those not chosen are nacked back (requeued) at the
end, and if the tool dies the broker requeues them itself, so inspecting never loses a message.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import orjson
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from cli.context import CommandError, Context
from cli.render import Progress, emit
from libs.events.envelope import Envelope, PoisonMessage
from libs.events.publisher import to_message
from libs.events.topology import Topology, message_count

_SHOWN_HEADERS = ("x-dead-letter-reason", "x-error", "x-attempts", "x-failed-at", "x-original-queue")


def add_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dlq = groups.add_parser("dlq", help="dead-letter queues: list, show, requeue, discard")
    commands = dlq.add_subparsers(dest="command", required=True)
    queue_help = "a consumer name (e.g. crawler) or its queue or dead-letter queue name"

    listing = commands.add_parser("list", help="message counts per dead-letter queue")
    listing.add_argument("queue", nargs="?", help=queue_help)
    listing.set_defaults(run=run_list)

    show = commands.add_parser("show", help="the dead-lettered messages, left in place")
    show.add_argument("queue", help=queue_help)
    show.add_argument("--limit", type=int, default=50)
    show.add_argument("--json", action="store_true", help="one JSON object per message")
    show.set_defaults(run=run_show)

    for name, what in (
        ("requeue", "move messages back to the consumer's work queue, to be processed again"),
        ("discard", "delete messages for good"),
    ):
        command = commands.add_parser(name, help=what)
        command.add_argument("queue", help=queue_help)
        chosen = command.add_mutually_exclusive_group(required=True)
        chosen.add_argument("--id", action="append", dest="ids", metavar="EVENT_ID", help="repeatable")
        chosen.add_argument("--all", action="store_true")
        command.set_defaults(run=run_requeue if name == "requeue" else run_discard)


def consumer_of(topology: Topology, name: str) -> str:
    """'crawler', 'viralspot.crawler' and 'viralspot.crawler.dlq' all name the crawler."""
    prefix = f"{topology.namespace}."
    if name.startswith(prefix):
        name = name[len(prefix) :]
    return name.removesuffix(".dlq")


async def _open_dlq(channel: AbstractChannel, topology: Topology, consumer: str) -> AbstractQueue:
    name = topology.dead_letter_queue(consumer)
    try:
        return await channel.declare_queue(name, passive=True)
    except aio_pika.exceptions.ChannelClosed as exc:
        raise CommandError(f"queue {name} does not exist") from exc


def _text(value: Any) -> Any:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def describe(message: AbstractIncomingMessage) -> dict[str, Any]:
    headers = {k: _text(v) for k, v in (message.headers or {}).items()}
    described: dict[str, Any] = {
        "message_id": message.message_id,
        "event_type": message.type,
        **{h.removeprefix("x-").replace("-", "_"): headers.get(h) for h in _SHOWN_HEADERS},
        "stream_id": headers.get("stream_id"),
        "correlation_id": message.correlation_id,
    }
    try:
        body = orjson.loads(message.body)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        described["event_id"] = body.get("event_id")
        described["event_type"] = described["event_type"] or body.get("event_type")
    else:
        described["event_id"] = None
        described["body"] = message.body[:200].decode(errors="replace")
    return described


def _ids(message: AbstractIncomingMessage, d: dict[str, Any]) -> set[str]:
    return {str(v) for v in (message.message_id, d.get("event_id")) if v}


async def _each(
    ctx: Context,
    queue_name: str,
    visit: Callable[[AbstractChannel, AbstractIncomingMessage, dict[str, Any]], Awaitable[bool]],
    limit: int | None = None,
) -> int:
    """Get the messages there now, one by one; `visit` returns True when it settled the message itself.
    The rest are requeued at the end, in their order."""
    consumer = consumer_of(ctx.topology, queue_name)
    amqp = await aio_pika.connect(ctx.amqp_url)
    try:
        channel = await amqp.channel(publisher_confirms=True)
        queue = await _open_dlq(channel, ctx.topology, consumer)
        present = queue.declaration_result.message_count or 0
        held: list[AbstractIncomingMessage] = []
        settled = 0
        try:
            for _ in range(min(present, limit) if limit is not None else present):
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    break
                if await visit(channel, message, describe(message)):
                    settled += 1
                else:
                    held.append(message)
        finally:
            for message in held:
                await message.nack(requeue=True)
        return settled
    finally:
        await amqp.close()


async def run_list(ctx: Context, args: argparse.Namespace) -> int:
    consumers = [consumer_of(ctx.topology, args.queue)] if args.queue else sorted(ctx.topology.subscriptions)
    amqp = await aio_pika.connect(ctx.amqp_url)
    try:
        channel = await amqp.channel()
        emit(f"{'dead-letter queue':<50} {'messages':>8}")
        for consumer in consumers:
            name = ctx.topology.dead_letter_queue(consumer)
            try:
                count = await message_count(channel, name)
            except aio_pika.exceptions.ChannelClosed:
                if args.queue:
                    raise CommandError(f"queue {name} does not exist") from None
                emit(f"{name:<50} {'absent':>8}")
                channel = await amqp.channel()  # a failed passive declare closes the channel
                continue
            emit(f"{name:<50} {count:>8}")
    finally:
        await amqp.close()
    return 0


async def run_show(ctx: Context, args: argparse.Namespace) -> int:
    shown = 0

    async def show(_channel: AbstractChannel, _message: AbstractIncomingMessage, d: dict[str, Any]) -> bool:
        nonlocal shown
        shown += 1
        if args.json:
            emit(orjson.dumps(d, default=str).decode())
        else:
            emit(
                f"[{shown}] id={d['event_id'] or d['message_id']} type={d['event_type']} "
                f"reason={d['dead_letter_reason']} attempts={d['attempts']} failed_at={d['failed_at']}"
            )
            emit(f"    error: {d['error']}")
            emit(
                f"    from: {d['original_queue']}  stream: {d['stream_id']}  correlation: {d['correlation_id']}"
            )
            if "body" in d:
                emit(f"    body: {d['body']!r}")
        return False

    await _each(ctx, args.queue, show, limit=args.limit)
    if not args.json:
        dead_letters = ctx.topology.dead_letter_queue(consumer_of(ctx.topology, args.queue))
        emit(f"{shown} message(s) shown, all left in {dead_letters}")
    return 0


def _chosen(args: argparse.Namespace) -> Callable[[AbstractIncomingMessage, dict[str, Any]], bool]:
    wanted = set(args.ids or ())
    return lambda message, d: bool(args.all or _ids(message, d) & wanted)


async def _settle_chosen(ctx: Context, args: argparse.Namespace, requeue: bool) -> int:
    chosen = _chosen(args)
    work_queue = ctx.topology.queue(consumer_of(ctx.topology, args.queue))
    progress = Progress("requeued" if requeue else "discarded", every=100)

    async def settle(channel: AbstractChannel, message: AbstractIncomingMessage, d: dict[str, Any]) -> bool:
        if not chosen(message, d):
            return False
        if requeue:
            try:
                envelope = Envelope.from_json(message.body)
            except PoisonMessage as poison:
                emit(f"left in place, not an envelope ({poison.reason}): {d['message_id']}")
                return False
            # The relay's own message (no retry or dead-letter headers, so retries start again),
            # confirmed into the work queue before it leaves the dead-letter queue.
            await channel.default_exchange.publish(to_message(envelope), routing_key=work_queue)
        await message.ack()
        progress.advance()
        emit(f"{'requeued to ' + work_queue if requeue else 'discarded'}: {d['event_id'] or d['message_id']}")
        return True

    settled = await _each(ctx, args.queue, settle)
    progress.finish()
    found = settled > 0 if args.all else settled >= len(set(args.ids))
    emit(f"{settled} message(s) {'requeued' if requeue else 'discarded'}")
    if not found and args.ids:
        emit("some ids were not found in the dead-letter queue")
        return 1
    return 0


async def run_requeue(ctx: Context, args: argparse.Namespace) -> int:
    return await _settle_chosen(ctx, args, requeue=True)


async def run_discard(ctx: Context, args: argparse.Namespace) -> int:
    return await _settle_chosen(ctx, args, requeue=False)
