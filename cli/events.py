"""`viralspot events ...`: follow the store live, read a stream, show a causal chain, replay to one queue."""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import sys
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

import aio_pika
import asyncpg

from cli.context import CommandError, Context
from cli.render import Progress, emit, event_line, json_line
from libs.events import broker
from libs.events.catalog import analysis_stream
from libs.events.db import connect
from libs.events.envelope import Envelope
from libs.events.publisher import to_message
from libs.events.relay import NOTIFY_CHANNEL
from libs.events.store import _COLUMNS, EventStore, Position, _envelope
from libs.events.topology import Topology

store = EventStore(producer="viralspot-cli")

# The last row a reader of read_all could see now: where a live tail starts.
_END = """SELECT tx_id::text::bigint AS tx, position FROM eventstore.events
          WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY tx_id DESC, position DESC LIMIT 1"""

_TIME_RANGE = f"""SELECT {_COLUMNS} FROM eventstore.events
                  WHERE occurred_at >= $1 AND occurred_at < coalesce($2, 'infinity'::timestamptz)
                  ORDER BY position"""

_REPLAY_HELP = """\
Publishes stored events again, through the default exchange straight into ONE consumer's queue, so no
other consumer sees them. Only the event types that consumer is bound to are sent.

Consumers are idempotent, so replaying an event a consumer already handled is normally a no-op:
viral-analysis and crawler skip event ids in their inbox (eventstore.inbox) unless --reset-inbox is
given, which deletes that consumer's inbox rows for exactly the replayed event ids before publishing;
profile-ingest skips requests its own state shows as done; the projector skips events at or below its
per-stream checkpoints (to re-project, use `viralspot readmodels rebuild`)."""


def add_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    events = groups.add_parser("events", help="read, follow and replay the event store")
    commands = events.add_subparsers(dest="command", required=True)

    tail = commands.add_parser("tail", help="follow events as they are committed")
    tail.add_argument("--type", action="append", dest="types", metavar="EVENT_TYPE", help="repeatable")
    tail.add_argument("--stream", help="stream id, or a glob such as 'analysis-*'")
    tail.add_argument("--correlation", type=uuid.UUID)
    tail.add_argument("--from-start", action="store_true", help="print the whole store first")
    tail.add_argument("--limit", type=int, help="exit after this many matching events")
    tail.add_argument("--for", dest="for_s", type=float, metavar="SECONDS", help="exit after this long")
    tail.add_argument("--poll", type=float, default=1.0, metavar="SECONDS", help="fallback poll interval")
    tail.add_argument("--json", action="store_true", help="one JSON envelope per line")
    tail.set_defaults(run=run_tail)

    stream = commands.add_parser("stream", help="a stream's history in order")
    stream.add_argument("stream_id")
    stream.add_argument("--json", action="store_true", help="one JSON envelope per line")
    stream.set_defaults(run=run_stream)

    chain = commands.add_parser(
        "chain",
        help="the causal chain of one request across services",
        description="Every event sharing a correlation id, in order, with producer, type, stream and "
        "timings: the offset from the first event and the delta from its cause (or the previous event).",
    )
    target = chain.add_mutually_exclusive_group(required=True)
    target.add_argument("correlation_id", nargs="?", type=uuid.UUID)
    target.add_argument(
        "--analysis",
        metavar="SESSION_OR_QUEUE_ID",
        help="every chain of one analysis job (its request and each re-run), by session id or queue id",
    )
    chain.add_argument("--json", action="store_true", help="one JSON envelope per line, with timings")
    chain.set_defaults(run=run_chain)

    replay = commands.add_parser(
        "replay",
        help="re-publish stored events to one consumer's queue",
        description=_REPLAY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    selection = replay.add_mutually_exclusive_group(required=True)
    selection.add_argument("--stream", help="every event of this stream")
    selection.add_argument("--correlation", type=uuid.UUID, help="every event of this causal chain")
    selection.add_argument("--since", type=datetime.fromisoformat, help="events from this time (ISO 8601)")
    replay.add_argument("--until", type=datetime.fromisoformat, help="with --since: up to this time")
    replay.add_argument("--type", action="append", dest="types", metavar="EVENT_TYPE", help="repeatable")
    replay.add_argument("--to", required=True, metavar="CONSUMER", help="a subscription name, e.g. crawler")
    replay.add_argument("--reset-inbox", action="store_true", help="forget that the consumer handled them")
    replay.add_argument("--dry-run", action="store_true", help="list what would be sent, send nothing")
    replay.set_defaults(run=run_replay)


def matcher(
    types: Iterable[str] | None, stream: str | None, correlation: uuid.UUID | None
) -> Callable[[Envelope], bool]:
    wanted = set(types or ())

    def matches(e: Envelope) -> bool:
        return (
            (not wanted or e.event_type in wanted)
            and (stream is None or fnmatch.fnmatchcase(e.stream_id, stream))
            and (correlation is None or e.correlation_id == correlation)
        )

    return matches


async def tail(
    conn: asyncpg.Connection,
    matches: Callable[[Envelope], bool],
    on_event: Callable[[Envelope], None],
    *,
    from_start: bool = False,
    limit: int | None = None,
    for_s: float | None = None,
    poll_s: float = 1.0,
    batch: int = 500,
    on_start: Callable[[Position], None] | None = None,
) -> int:
    """Follow the store in commit order (late commits included), woken by the append NOTIFY."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + for_s if for_s is not None else None
    wake = asyncio.Event()
    await conn.add_listener(NOTIFY_CHANNEL, lambda *_: wake.set())
    after = Position()
    if not from_start:
        end = await conn.fetchrow(_END)
        if end is not None:
            after = Position(end["tx"], end["position"])
    if on_start is not None:
        on_start(after)
    seen = 0
    while True:
        wake.clear()
        records = await store.read_all(conn, after=after, limit=batch)
        for record in records:
            after = record.position
            if matches(record.envelope):
                on_event(record.envelope)
                seen += 1
                if limit is not None and seen >= limit:
                    return seen
        if len(records) == batch:
            continue
        timeout = poll_s if deadline is None else min(poll_s, deadline - loop.time())
        if timeout <= 0:
            return seen
        try:
            await asyncio.wait_for(wake.wait(), timeout)
        except TimeoutError:
            pass  # rows held back behind a long transaction show up on a poll


async def run_tail(ctx: Context, args: argparse.Namespace) -> int:
    conn = await connect(ctx.database_url)
    try:
        await tail(
            conn,
            matcher(args.types, args.stream, args.correlation),
            lambda e: emit(json_line(e) if args.json else event_line(e)),
            from_start=args.from_start,
            limit=args.limit,
            for_s=args.for_s,
            poll_s=args.poll,
            on_start=lambda at: print(
                f"following the event store after (tx {at.tx_id}, position {at.position})",
                file=sys.stderr,
                flush=True,
            ),
        )
    finally:
        await conn.close()
    return 0


async def run_stream(ctx: Context, args: argparse.Namespace) -> int:
    conn = await connect(ctx.database_url)
    try:
        envelopes = await store.read_stream(conn, args.stream_id)
    finally:
        await conn.close()
    if not envelopes:
        raise CommandError(f"stream {args.stream_id} has no events")
    for e in envelopes:
        emit(json_line(e) if args.json else event_line(e))
    return 0


def _ms(later: datetime, earlier: datetime) -> float:
    return round((later - earlier).total_seconds() * 1000, 3)


def print_chain(correlation_id: uuid.UUID, envelopes: list[Envelope], as_json: bool) -> None:
    """Offset from the first event, delta from the previous one and from the cause (its causation id)."""
    first = envelopes[0].occurred_at
    index = {e.event_id: i for i, e in enumerate(envelopes, start=1)}
    if not as_json:
        span = _ms(envelopes[-1].occurred_at, first)
        producers = ", ".join(dict.fromkeys(e.producer for e in envelopes))
        emit(f"correlation {correlation_id}: {len(envelopes)} events over {span} ms ({producers})")
        emit(
            f"{'#':>4} {'offset ms':>10} {'+prev ms':>9} {'cause':>5} {'+cause ms':>10}  "
            f"{'producer':<15} {'event':<24} stream"
        )
    for i, e in enumerate(envelopes, start=1):
        cause = index.get(e.causation_id) if e.causation_id is not None else None
        offset = _ms(e.occurred_at, first)
        since_prev = _ms(e.occurred_at, envelopes[i - 2].occurred_at) if i > 1 else 0.0
        since_cause = _ms(e.occurred_at, envelopes[cause - 1].occurred_at) if cause is not None else None
        if as_json:
            emit(
                json_line(
                    e,
                    index=i,
                    offset_ms=offset,
                    delta_prev_ms=since_prev,
                    caused_by=cause,
                    delta_cause_ms=since_cause,
                )
            )
        else:
            cause_text = f"#{cause}" if cause is not None else "-"
            cause_ms = f"{since_cause:.1f}" if since_cause is not None else "-"
            emit(
                f"{i:>4} {offset:>10.1f} {since_prev:>9.1f} {cause_text:>5} {cause_ms:>10}  "
                f"{e.producer:<15} {e.event_type:<24} {e.stream_id}@{e.stream_version}"
            )


async def _analysis_correlations(conn: asyncpg.Connection, job: str) -> list[uuid.UUID]:
    try:
        queue_id = uuid.UUID(job)
    except ValueError:
        queue_id = await conn.fetchval(
            "SELECT queue_id FROM gateway.analysis_sessions WHERE session_id = $1", job
        )
        if queue_id is None:
            raise CommandError(f"no analysis job for session {job}") from None
    envelopes = await store.read_stream(conn, analysis_stream(str(queue_id)))
    if not envelopes:
        raise CommandError(f"no events for analysis {queue_id}")
    return list(dict.fromkeys(e.correlation_id for e in envelopes))


async def run_chain(ctx: Context, args: argparse.Namespace) -> int:
    conn = await connect(ctx.database_url)
    try:
        if args.analysis is not None:
            correlations = await _analysis_correlations(conn, args.analysis)
        else:
            correlations = [args.correlation_id]
        chains = [(c, await store.read_correlation(conn, c)) for c in correlations]
    finally:
        await conn.close()
    if not any(envelopes for _, envelopes in chains):
        raise CommandError(f"no events with correlation id {', '.join(map(str, correlations))}")
    for correlation_id, envelopes in chains:
        print_chain(correlation_id, envelopes, args.json)
    return 0


def topic_matches(binding: str, routing_key: str) -> bool:
    """AMQP topic matching: '*' is one word, '#' zero or more."""

    def match(pattern: list[str], words: list[str]) -> bool:
        if not pattern:
            return not words
        head, rest = pattern[0], pattern[1:]
        if head == "#":
            return any(match(rest, words[i:]) for i in range(len(words) + 1))
        return bool(words) and head in ("*", words[0]) and match(rest, words[1:])

    return match(binding.split("."), routing_key.split("."))


def replay_queue(topology: Topology, consumer: str) -> str:
    if consumer not in topology.subscriptions:
        known = ", ".join(sorted(topology.subscriptions))
        raise CommandError(f"unknown consumer {consumer!r}; one of: {known}")
    return topology.queue(consumer)


async def _selected(conn: asyncpg.Connection, args: argparse.Namespace) -> list[Envelope]:
    if args.stream is not None:
        return await store.read_stream(conn, args.stream)
    if args.correlation is not None:
        return await store.read_correlation(conn, args.correlation)
    return [_envelope(r) for r in await conn.fetch(_TIME_RANGE, args.since, args.until)]


async def run_replay(ctx: Context, args: argparse.Namespace) -> int:
    queue = replay_queue(ctx.topology, args.to)
    bindings = ctx.topology.subscriptions[args.to].bindings
    conn = await connect(ctx.database_url)
    try:
        wanted = matcher(args.types, None, None)
        selected = [e for e in await _selected(conn, args) if wanted(e)]
        envelopes = [e for e in selected if any(topic_matches(b, e.event_type) for b in bindings)]
        summary = f"{len(selected)} events selected, {len(envelopes)} bound to {args.to} ({queue})"
        if args.dry_run:
            emit(summary)
            for e in envelopes:
                emit(event_line(e))
            return 0
        if not envelopes:
            emit(summary)
            return 0
        amqp = await broker.connect(ctx.amqp_url)
        try:
            channel = await amqp.channel(publisher_confirms=True)
            try:
                await channel.declare_queue(queue, passive=True)
            except aio_pika.exceptions.ChannelClosed as exc:
                raise CommandError(f"queue {queue} does not exist on the broker") from exc
            if args.reset_inbox:
                status = await conn.execute(
                    "DELETE FROM eventstore.inbox WHERE consumer = $1 AND event_id = ANY($2::uuid[])",
                    args.to,
                    [e.event_id for e in envelopes],
                )
                emit(f"inbox of {args.to}: {status.split()[-1]} handled event ids forgotten")
            await publish_to_queue(channel, queue, envelopes)
        finally:
            await amqp.close()
    finally:
        await conn.close()
    emit(f"{summary}: {len(envelopes)} published")
    return 0


async def publish_to_queue(
    channel: aio_pika.abc.AbstractChannel, queue: str, envelopes: list[Envelope], chunk: int = 200
) -> None:
    """The relay's messages, through the default exchange into one queue; confirms awaited per chunk."""
    progress = Progress(f"replayed to {queue}", total=len(envelopes))
    for start in range(0, len(envelopes), chunk):
        part = envelopes[start : start + chunk]
        await asyncio.gather(
            *(channel.default_exchange.publish(to_message(e), routing_key=queue) for e in part)
        )
        progress.advance(len(part))
    progress.finish()
