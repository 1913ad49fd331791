"""`viralspot readmodels rebuild --swap`: a zero-downtime rebuild of every read model.

The store is replayed into a shadow schema while the live projector goes on projecting; the shadow
catches up with what was appended meanwhile, is analysed, compared with the live schema, and then, in
one transaction, swapped in: the live projector is held between two batches (the advisory lock its
batches take, services/projector/repository.project_into), the last events are applied to the shadow,
and the two schemas trade names. Readers never wait on that transaction: a query running on the old
tables finishes on them, the next one resolves `readmodel` to the new ones (renaming a schema
invalidates every cached plan, the gateway's prepared statements included). The shadow holds every
event the live schema held, or more (events appended but not yet delivered to the projector, which it
then skips by its stream checkpoints), so no answer goes backwards.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import asyncpg

from cli.context import CommandError, Context, confirmed
from cli.readmodels import (
    LIVE_SCHEMA,
    Replay,
    Unapplied,
    analyse,
    apply_or_name,
    compare_schemas,
    create_schema,
    drop_schema,
    ident,
    replay_store,
    report,
    report_unapplied,
    schema_name,
    timed_replay,
)
from cli.render import emit
from libs.events.db import connect
from libs.events.envelope import NewerSchemaVersion, PoisonMessage
from libs.events.store import EventStore

# The key the live projector's batches lock (services/projector/repository.project_into).
LIVE_PROJECTOR_LOCK = f"projector:{LIVE_SCHEMA}"


class _Refused(Exception):
    """An event appended during the swap could not be applied: the transaction is rolled back."""


async def swap(conn: asyncpg.Connection, replay: Replay, batch_size: int, retired: str) -> float:
    """The last events into the shadow and the names traded, in one transaction; its duration in s."""
    started = time.perf_counter()
    before = len(replay.unapplied)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", LIVE_PROJECTOR_LOCK)
        await replay_store(conn, replay, batch_size, "last events into")
        await _streams_the_live_schema_is_ahead_on(conn, replay)
        if len(replay.unapplied) > before:
            raise _Refused
        await conn.execute(f"ALTER SCHEMA {ident(LIVE_SCHEMA)} RENAME TO {ident(retired)}")
        await conn.execute(f"ALTER SCHEMA {ident(replay.target)} RENAME TO {ident(LIVE_SCHEMA)}")
    return time.perf_counter() - started


_AHEAD = """SELECT l.stream_id, coalesce(s.version, 0) AS shadow, l.version AS live
             FROM {live}.stream_checkpoints l LEFT JOIN {shadow}.stream_checkpoints s USING (stream_id)
             WHERE l.version > coalesce(s.version, 0)"""


async def _streams_the_live_schema_is_ahead_on(conn: asyncpg.Connection, replay: Replay) -> None:
    """The replay reads the store in commit order only up to the oldest transaction still running
    (EventStore.read_all), but the live projector applies what it is delivered, in any order across
    streams: an event committed behind a transaction still open may be in the live schema and not
    yet in the shadow. Each stream the live schema is ahead on is read to its version, by stream
    (committed rows, whatever runs beside them), and applied to the shadow."""
    from services.projector.handlers import Projector  # the projector's own code, as replay_store's

    ahead = await conn.fetch(_AHEAD.format(live=ident(LIVE_SCHEMA), shadow=ident(replay.target)))
    store = EventStore(producer="viralspot-cli")
    projector = Projector(store, schema=replay.target)
    for row in ahead:
        envelopes = await store.read_stream(
            conn, row["stream_id"], from_version=row["shadow"] + 1, to_version=row["live"]
        )
        items = []
        for envelope in envelopes:
            try:
                items.append((envelope, envelope.event()))
            except (PoisonMessage, NewerSchemaVersion) as exc:
                replay.unapplied.append(Unapplied(envelope, f"{type(exc).__name__}: {exc}"))
        await apply_or_name(conn, projector, items, replay)
        replay.applied += len(items)
    if ahead:
        emit(
            f"{len(ahead)} streams read to the live schema's versions (events committed behind a running transaction)"
        )


async def run_swap(ctx: Context, args: argparse.Namespace) -> int:
    stamp = f"{datetime.now(UTC):%Y%m%d%H%M%S}"
    shadow = schema_name(args.schema or f"readmodel_shadow_{stamp}")
    retired = f"readmodel_retired_{stamp}"
    if shadow == LIVE_SCHEMA:
        raise CommandError("refusing to rebuild into the live schema")
    conn = await connect(ctx.database_url)
    swapped = False
    try:
        tables = await create_schema(conn, LIVE_SCHEMA, shadow)
        emit(f"created shadow schema {shadow} with {len(tables)} tables and views like {LIVE_SCHEMA}")
        try:
            replay = await timed_replay(conn, Replay(shadow), args.batch_size)
            # What was appended meanwhile, outside the lock, so that little is left for inside it.
            await replay_store(conn, replay, args.batch_size, "catching up")
            await analyse(conn, shadow, tables)
            if report_unapplied(replay):
                emit(f"refusing to swap: {shadow} is missing events; the live schema is untouched")
                return 1
            emit(f"{LIVE_SCHEMA} (live, still projecting) against {shadow}:")
            differs = report(await compare_schemas(conn, LIVE_SCHEMA, shadow), LIVE_SCHEMA, shadow)
            if args.dry_run:
                emit(f"dry run: nothing swapped; {shadow} is dropped")
                return differs
            if not confirmed(args.yes, f"swap {shadow} in as {LIVE_SCHEMA}"):
                emit("not swapped")
                return 1
            try:
                held = await swap(conn, replay, args.batch_size, retired)
            except _Refused:
                report_unapplied(replay)
                emit("refusing to swap: events appended meanwhile could not be applied; nothing changed")
                return 1
            swapped = True
            emit(
                f"swapped: {LIVE_SCHEMA} is the rebuilt schema ({replay.applied} events); the live "
                f"projector was held for {held * 1000:.0f} ms; the old one is {retired}"
            )
        finally:
            if not swapped:
                await drop_schema(conn, shadow)
        if not args.keep_old:
            await drop_schema(conn, retired)
    finally:
        await conn.close()
    return 0
