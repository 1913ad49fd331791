"""`viralspot dlq ...`: count, inspect, requeue or discard dead-lettered messages.

Messages are taken with basic.get and held unacked; those not chosen are nacked back (requeued) at the
end, and if the tool dies the broker requeues them itself, so inspecting never loses a message.

requeue and discard touch exactly what their filters say (ids, event types, stream glob, reason, age,
at most --limit), count it first and show it (`--dry-run` stops there), and ask before touching more
than --confirm-above messages unless given --yes. Within a run each message is taken once. Across runs,
each requeue is recorded (eventstore.dlq_requeues) once the broker confirmed its copy and before the dead
letter is acked: a run killed in between leaves the dead letter in place, and the next run removes it
without sending it again. Only a kill in the milliseconds between the confirm and the record's commit
sends it twice, which the consumers' idempotency (inbox or state) absorbs.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import orjson
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from cli.context import CommandError, Context, confirmed
from cli.render import Progress, emit
from libs.events import broker
from libs.events.db import connect
from libs.events.envelope import Envelope, PoisonMessage
from libs.events.publisher import to_message
from libs.events.topology import Topology, message_count

_REQUEUED = """SELECT true FROM eventstore.dlq_requeues
                WHERE consumer = $1 AND message_key = $2 AND failed_at = $3"""
_RECORD = """INSERT INTO eventstore.dlq_requeues (consumer, message_key, failed_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING"""
# A dead letter lives in its queue for days at most; a month of records covers any run that died.
_PURGE = "DELETE FROM eventstore.dlq_requeues WHERE requeued_at < now() - interval '30 days'"

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
        command.add_argument("--id", action="append", dest="ids", metavar="EVENT_ID", help="repeatable")
        command.add_argument("--all", action="store_true", help="every message (the filters still apply)")
        command.add_argument("--type", action="append", dest="types", metavar="EVENT_TYPE", help="repeatable")
        command.add_argument("--stream", metavar="GLOB", help="stream id pattern, e.g. 'profile-*'")
        command.add_argument("--reason", help="dead-letter reason, e.g. retries_exhausted, undecodable")
        command.add_argument(
            "--older-than", type=age, metavar="AGE", help="dead-lettered before: 30m, 2h, 1d"
        )
        command.add_argument("--limit", type=int, help="touch at most this many")
        command.add_argument(
            "--dry-run", action="store_true", help="show what would be touched, touch nothing"
        )
        command.add_argument("--yes", action="store_true", help="do not ask, whatever the count")
        command.add_argument(
            "--confirm-above", type=int, default=10, metavar="N", help="ask before touching more (10)"
        )
        command.set_defaults(run=run_requeue if name == "requeue" else run_discard)


_AGE = re.compile(r"^([0-9]{1,6})([smhd])$")


def age(text: str) -> timedelta:
    """'90s', '30m', '2h', '7d'."""
    match = _AGE.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age such as 30m, 2h or 7d")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match[2]]
    return timedelta(**{unit: int(match[1])})


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
    amqp = await broker.connect(ctx.amqp_url)
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
    amqp = await broker.connect(ctx.amqp_url)
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
    """What the command's filters select: every one given must hold."""
    wanted = set(args.ids or ())
    types = set(args.types or ())
    now = datetime.now(UTC)

    def chosen(message: AbstractIncomingMessage, d: dict[str, Any]) -> bool:
        if wanted and not _ids(message, d) & wanted:
            return False
        if types and d["event_type"] not in types:
            return False
        if args.stream is not None and not fnmatch.fnmatchcase(str(d["stream_id"] or ""), args.stream):
            return False
        if args.reason is not None and d["dead_letter_reason"] != args.reason:
            return False
        if args.older_than is not None:
            failed_at = _time(d["failed_at"])
            if failed_at is None or now - failed_at < args.older_than:
                return False
        return True

    return chosen


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _has_selection(args: argparse.Namespace) -> bool:
    return bool(args.all or args.ids or args.types or args.stream or args.reason or args.older_than)


def _confirmed(count: int, args: argparse.Namespace, verb: str) -> bool:
    question = f"{count} messages would be {verb}, more than {args.confirm_above}"
    return count <= args.confirm_above or confirmed(args.yes, question)


async def _settle_chosen(ctx: Context, args: argparse.Namespace, requeue: bool) -> int:
    if not _has_selection(args):
        raise CommandError("say which messages: --id, --type, --stream, --reason, --older-than or --all")
    verb = "requeued" if requeue else "discarded"
    chosen = _chosen(args)
    consumer = consumer_of(ctx.topology, args.queue)
    work_queue = ctx.topology.queue(consumer)

    # First what would be touched, counted and shown, with every message put back.
    matched: list[dict[str, Any]] = []

    async def look(_channel: AbstractChannel, message: AbstractIncomingMessage, d: dict[str, Any]) -> bool:
        if chosen(message, d) and (args.limit is None or len(matched) < args.limit):
            matched.append(d)
        return False

    await _each(ctx, args.queue, look)
    for d in matched:
        emit(f"{'would be ' if args.dry_run else ''}{verb}: {d['event_id'] or d['message_id']} "
             f"type={d['event_type']} stream={d['stream_id']} reason={d['dead_letter_reason']}")  # fmt: skip
    if args.dry_run:
        emit(f"{len(matched)} message(s) would be {verb} (dry run: nothing touched)")
        return 0
    if not matched:
        emit(f"0 message(s) {verb}")
        if args.ids:
            emit("some ids were not found in the dead-letter queue")
            return 1
        return 0
    if not _confirmed(len(matched), args, verb):
        emit("nothing touched")
        return 1
    # Then exactly those, by id: never more than were shown, even if more arrived meanwhile.
    ids = {str(d["event_id"] or d["message_id"]) for d in matched}
    progress = Progress(verb, every=100)
    db = await connect(ctx.database_url) if requeue else None

    async def settle(channel: AbstractChannel, message: AbstractIncomingMessage, d: dict[str, Any]) -> bool:
        key = str(d["event_id"] or d["message_id"])
        if key not in ids or not chosen(message, d):
            return False
        ids.discard(key)  # a copy of the same message (one already requeued) is left alone
        if requeue:
            try:
                envelope = Envelope.from_json(message.body)
            except PoisonMessage as poison:
                emit(f"left in place, not an envelope ({poison.reason}): {d['message_id']}")
                return False
            assert db is not None
            instance = (consumer, key, str((message.headers or {}).get("x-failed-at", "")))
            if await db.fetchval(_REQUEUED, *instance):
                emit(f"already requeued by an earlier run that stopped before removing it: {key}")
            else:
                # The relay's own message (no retry or dead-letter headers, so retries start again),
                # confirmed into the work queue, recorded, and only then removed from the dead letters.
                await channel.default_exchange.publish(to_message(envelope), routing_key=work_queue)
                await db.execute(_RECORD, *instance)
        await message.ack()
        progress.advance()
        return True

    try:
        settled = await _each(ctx, args.queue, settle)
    finally:
        if db is not None:
            await db.execute(_PURGE)
            await db.close()
    progress.finish()
    emit(f"{settled} message(s) {verb}")
    if args.ids and settled < len(set(args.ids)):
        emit("some ids were not found in the dead-letter queue")
        return 1
    return 0


async def run_requeue(ctx: Context, args: argparse.Namespace) -> int:
    return await _settle_chosen(ctx, args, requeue=True)


async def run_discard(ctx: Context, args: argparse.Namespace) -> int:
    return await _settle_chosen(ctx, args, requeue=False)
