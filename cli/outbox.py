"""`viralspot outbox ...`: the events a relay parked as unpublishable: list them, retry or skip them.

Retrying hands an event back to its producer's relay, which publishes it and then the stream's later
events in order (or parks it again, with the new reason, if the cause is still there). Skipping marks
it published without sending it: consumers never get it, the projector still reads it from the store.
"""

from __future__ import annotations

import argparse
import uuid

import orjson

from cli.context import CommandError, Context
from cli.render import emit
from libs.events.db import connect
from libs.events.relay import NOTIFY_CHANNEL

_PARKED = """
SELECT p.event_id, p.producer, p.stream_id, p.event_type, p.reason, p.attempts, p.parked_at,
       (SELECT count(*) FROM eventstore.events e
        WHERE e.producer = p.producer AND e.stream_id = p.stream_id AND e.published_at IS NULL
          AND e.position > p.position) AS waiting_behind
FROM eventstore.parked_events p
WHERE p.resolved_at IS NULL AND ($1::text IS NULL OR p.producer = $1)
ORDER BY p.position"""

# Resolve the chosen rows; skipping also marks the event published. Returns what it resolved.
_RESOLVE = """
WITH chosen AS (
    UPDATE eventstore.parked_events SET resolved_at = now(), resolution = $1
    WHERE resolved_at IS NULL AND ($2::text IS NULL OR producer = $2)
      AND ($3::uuid[] IS NULL OR event_id = ANY($3::uuid[]))
    RETURNING event_id, producer, stream_id
), skipped AS (
    UPDATE eventstore.events e SET published_at = now() FROM chosen c
    WHERE $1 = 'skipped' AND e.event_id = c.event_id
)
SELECT event_id, producer, stream_id FROM chosen"""


def add_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outbox = groups.add_parser("outbox", help="events the outbox relays parked: list, retry, skip")
    commands = outbox.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="parked events, with their reason and what waits behind them")
    listing.add_argument("--producer", help="only this service's relay (e.g. gateway)")
    listing.add_argument("--json", action="store_true", help="one JSON object per event")
    listing.set_defaults(run=run_list)

    for name, what in (
        ("retry", "hand parked events back to their relay, once the cause is fixed"),
        ("skip", "give up on parked events: marked published, never sent; their streams go on"),
    ):
        command = commands.add_parser(name, help=what)
        command.add_argument("--producer", help="only this service's relay")
        chosen = command.add_mutually_exclusive_group(required=True)
        chosen.add_argument("--id", action="append", dest="ids", metavar="EVENT_ID", help="repeatable")
        chosen.add_argument("--all", action="store_true")
        command.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
        command.set_defaults(run=run_resolve, resolution="retried" if name == "retry" else "skipped")


async def run_list(ctx: Context, args: argparse.Namespace) -> int:
    conn = await connect(ctx.database_url)
    try:
        rows = await conn.fetch(_PARKED, args.producer)
    finally:
        await conn.close()
    for r in rows:
        if args.json:
            emit(orjson.dumps(dict(r), default=str).decode())
            continue
        emit(
            f"{r['parked_at'].isoformat(timespec='seconds')}  {r['event_type']:<24} {r['stream_id']}"
            f"  producer={r['producer']}  id={r['event_id']}  attempts={r['attempts']}"
            f"  waiting_behind={r['waiting_behind']}"
        )
        emit(f"    reason: {r['reason']}")
    if not args.json:
        emit(f"{len(rows)} parked event(s)")
    return 0


async def run_resolve(ctx: Context, args: argparse.Namespace) -> int:
    ids = _event_ids(args.ids) if args.ids else None
    conn = await connect(ctx.database_url)
    try:
        async with conn.transaction():
            resolved = await conn.fetch(_RESOLVE, args.resolution, args.producer, ids)
            for producer in sorted({r["producer"] for r in resolved}):
                # Wakes the producer's relays: they count parked events again and publish at once.
                await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, f"{producer}:parked")
            if args.dry_run:
                raise _DryRun
    except _DryRun:
        pass
    finally:
        await conn.close()
    verb = {"retried": "retry", "skipped": "skip"}[args.resolution]
    for r in resolved:
        emit(f"{'would ' + verb if args.dry_run else args.resolution}: {r['event_id']} ({r['stream_id']})")
    emit(f"{len(resolved)} parked event(s) {'would be ' if args.dry_run else ''}{args.resolution}")
    if ids is not None and len(resolved) < len(ids):
        emit("some ids are not parked (unknown, or resolved already)")
        return 1
    return 0


class _DryRun(Exception):
    """Rolls the transaction back after it computed what it would resolve."""


def _event_ids(raw: list[str]) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(r) for r in raw]
    except ValueError as exc:
        raise CommandError(f"not an event id: {exc}") from None
