"""`viralspot readmodels held` and `skip`: the streams the projector holds at a dead-lettered event.

A held stream resolves itself when its dead letter is requeued and applies (`viralspot dlq requeue
projector ...`). When the event can never apply (its data is wrong, not the code), `skip` projects the
stream past it: the events before it, then the ones that waited behind it, through the projector's own
code; the skipped event is then never projected (a requeued copy of it is a duplicate)."""

from __future__ import annotations

import argparse

from cli.context import CommandError, Context, confirmed
from cli.render import emit
from libs.events.db import connect
from libs.events.store import EventStore

_HELD = """SELECT c.stream_id, c.version, c.held_version, c.held_event_id, c.held_reason, c.held_at,
                  (SELECT max(e.stream_version) FROM eventstore.events e WHERE e.stream_id = c.stream_id)
                      AS latest
           FROM readmodel.stream_checkpoints c
           WHERE c.held_version IS NOT NULL AND ($1::text IS NULL OR c.stream_id = $1)
           ORDER BY c.held_at"""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    held = commands.add_parser("held", help="streams held at a dead-lettered event, and what waits")
    held.set_defaults(run=run_held)
    skip = commands.add_parser(
        "skip",
        help="project a held stream past its dead-lettered event (which is then never projected)",
        description=__doc__,
    )
    skip.add_argument("stream", help="the held stream, e.g. profile-fitwithmaya")
    skip.add_argument("--yes", action="store_true", help="do not ask")
    skip.set_defaults(run=run_skip)


async def run_held(ctx: Context, args: argparse.Namespace) -> int:
    conn = await connect(ctx.database_url)
    try:
        rows = await conn.fetch(_HELD, None)
    finally:
        await conn.close()
    if not rows:
        emit("no stream is held")
        return 0
    for r in rows:
        waiting = (r["latest"] or 0) - r["held_version"]
        emit(
            f"{r['stream_id']}  held at version {r['held_version']} (event {r['held_event_id']}) since "
            f"{r['held_at']:%Y-%m-%d %H:%M:%S}; applied up to {r['version']}; {waiting} later events waiting"
        )
        emit(f"    {(r['held_reason'] or '')[:300]}")
    emit("resolve: requeue the dead letter once fixed (viralspot dlq requeue projector ...), or skip it")
    return 0


async def run_skip(ctx: Context, args: argparse.Namespace) -> int:
    from services.projector.handlers import Projector  # the projector's own code, not a copy

    conn = await connect(ctx.database_url)
    try:
        rows = await conn.fetch(_HELD, args.stream)
        if not rows:
            raise CommandError(f"stream {args.stream} is not held")
        held = rows[0]
        question = f"skip {args.stream}@{held['held_version']} (event {held['held_event_id']}) for good"
        if not confirmed(args.yes, question):
            emit("not skipped")
            return 1
        store = EventStore(producer="viralspot-cli")
        projector = Projector(store)
        async with conn.transaction():
            # The live projector's batches wait for this one (the same lock), so nothing interleaves.
            before = await store.read_stream(
                conn, args.stream, from_version=held["version"] + 1, to_version=held["held_version"] - 1
            )
            await projector.apply_batch(conn, [(e, e.event()) for e in before])
            await conn.execute(
                """UPDATE readmodel.stream_checkpoints
                   SET version = held_version, held_version = NULL, held_event_id = NULL, held_reason = NULL,
                       held_at = NULL
                   WHERE stream_id = $1""",
                args.stream,
            )
            after = await store.read_stream(conn, args.stream, from_version=held["held_version"] + 1)
            await projector.apply_batch(conn, [(e, e.event()) for e in after])
    finally:
        await conn.close()
    emit(
        f"skipped {args.stream}@{held['held_version']}; applied {len(before)} events before it and "
        f"{len(after)} that waited behind it"
    )
    return 0
