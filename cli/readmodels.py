"""`viralspot readmodels ...`: rebuild every read model from the store into a fresh schema, compare it."""

from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from cli import stream_holds
from cli.context import CommandError, Context
from cli.render import Progress, emit
from libs.events.catalog import Event
from libs.events.db import connect, is_database_outage
from libs.events.envelope import Envelope, NewerSchemaVersion, PoisonMessage
from libs.events.store import EventStore, Position

LIVE_SCHEMA = "readmodel"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Columns the projector fills from the wall clock at projection time, not from the events: a rebuild
# cannot reproduce them, so the comparison leaves them out.
IGNORED_COLUMNS: dict[str, tuple[str, ...]] = {
    "profile_queue": ("projected_at",),  # clock_timestamp() when the row was projected (latency bench)
    "stream_checkpoints": ("held_at",),  # when the projector held the stream at a dead letter
}

_RELATIONS = """SELECT c.relname AS name, c.relkind::text AS kind FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v') ORDER BY c.relname"""
_COLUMNS = """SELECT column_name, data_type FROM information_schema.columns
              WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position"""


def schema_name(name: str) -> str:
    """Schema names cannot be query parameters: only simple lower-case names are accepted, then quoted."""
    if not _SCHEMA_NAME.match(name):
        raise CommandError(f"invalid schema name {name!r} (expected {_SCHEMA_NAME.pattern})")
    return name


def batch_size(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 100000")
    return value


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def add_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    readmodels = groups.add_parser("readmodels", help="rebuild the read models from the store and compare")
    commands = readmodels.add_subparsers(dest="command", required=True)

    rebuild = commands.add_parser(
        "rebuild",
        help="replay the whole store into a fresh schema (--swap: and put it in place of the live one)",
        description="Creates SCHEMA with the live read-model tables' DDL (and views), then applies every "
        "stored event in commit order with the projector's own code. Every event that cannot be applied "
        "is listed (exit 1). Without --swap the live schema is not touched. With --swap the rebuild "
        "goes into a shadow schema while the live projector goes on, catches up, is compared with the "
        "live schema and, once confirmed, swapped in atomically with no pause for readers; it refuses "
        "to swap when an event could not be applied.",
    )
    rebuild.add_argument("--schema", help="target schema (default readmodel_rebuild_<UTC timestamp>)")
    rebuild.add_argument("--batch-size", type=batch_size, default=1000, metavar="N", help="1 to 100000")
    rebuild.add_argument("--compare", action="store_true", help="then compare with the live schema")
    rebuild.add_argument("--drop", action="store_true", help="drop the rebuilt schema at the end")
    rebuild.add_argument("--swap", action="store_true", help="swap the rebuilt schema in for the live one")
    rebuild.add_argument("--dry-run", action="store_true", help="with --swap: rebuild and compare only")
    rebuild.add_argument("--yes", action="store_true", help="with --swap: do not ask before swapping")
    rebuild.add_argument("--keep-old", action="store_true", help="with --swap: keep the old schema")
    rebuild.set_defaults(run=run_rebuild)

    compare = commands.add_parser(
        "compare",
        help="compare a rebuilt schema with the live one; exit 1 when they differ",
        description="Row counts and content, table by table and view by view. Ignored columns: "
        + ", ".join(f"{t}.{c}" for t, cs in IGNORED_COLUMNS.items() for c in cs),
    )
    compare.add_argument("--schema", required=True, help="the rebuilt schema")
    compare.add_argument("--live", default=LIVE_SCHEMA, help=f"the live schema (default {LIVE_SCHEMA})")
    compare.add_argument("--drop", action="store_true", help="drop the rebuilt schema afterwards")
    compare.set_defaults(run=run_compare)
    stream_holds.add_commands(commands)


async def create_schema(conn: asyncpg.Connection, live: str, target: str) -> list[str]:
    """Tables LIKE the live ones INCLUDING ALL; views re-created from their definitions."""
    async with conn.transaction():
        if await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", target):
            raise CommandError(f"schema {target} already exists; choose another --schema or drop it")
        relations = await conn.fetch(_RELATIONS, live)
        if not relations:
            raise CommandError(f"schema {live} has no tables")
        await conn.execute(f"CREATE SCHEMA {ident(target)}")
        for r in relations:
            if r["kind"] != "v":
                await conn.execute(
                    f"CREATE TABLE {ident(target)}.{ident(r['name'])} "
                    f"(LIKE {ident(live)}.{ident(r['name'])} INCLUDING ALL)"
                )
        # With the live schema first on the path the definitions come back unqualified, so they bind
        # to the new schema's tables when re-created there.
        await conn.execute(f"SET LOCAL search_path TO {ident(live)}")
        views = await conn.fetch(
            """SELECT c.relname AS name, pg_get_viewdef(c.oid) AS definition FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'v'
               ORDER BY c.oid""",
            live,
        )
        await conn.execute(f"SET LOCAL search_path TO {ident(target)}")
        for v in views:
            await conn.execute(f"CREATE VIEW {ident(target)}.{ident(v['name'])} AS {v['definition']}")
        await _name_indexes_as_live(conn, live, target)
    return [r["name"] for r in relations]


_INDEXES = """SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition FROM pg_index x
              JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
              WHERE n.nspname = $1 ORDER BY i.relname"""
_INDEX_HEAD = re.compile(r"^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+?\.")


async def _name_indexes_as_live(conn: asyncpg.Connection, live: str, target: str) -> None:
    """LIKE ... INCLUDING ALL names the copied indexes after their columns; a swapped-in schema must
    carry the live names, which the migrations' later DROP INDEX and ALTER INDEX statements use."""
    by_shape: dict[str, list[str]] = {}
    for r in await conn.fetch(_INDEXES, target):
        by_shape.setdefault(_INDEX_HEAD.sub(r"\1", r["definition"]), []).append(r["name"])
    renames: list[tuple[str, str]] = []
    for r in await conn.fetch(_INDEXES, live):
        copies = by_shape.get(_INDEX_HEAD.sub(r"\1", r["definition"]))
        if not copies:
            raise CommandError(f"index {live}.{r['name']} has no copy in {target}")
        renames.append((copies.pop(0), r["name"]))
    # Through temporary names: a copy's generated name may be another live index's name.
    for step, (old, _new) in enumerate(renames):
        await conn.execute(f"ALTER INDEX {ident(target)}.{ident(old)} RENAME TO {ident(f'_renaming_{step}')}")
    for step, (_old, new) in enumerate(renames):
        await conn.execute(f"ALTER INDEX {ident(target)}.{ident(f'_renaming_{step}')} RENAME TO {ident(new)}")


@dataclass(frozen=True)
class Unapplied:
    """A stored event the projector's code could not apply: a rebuild reports each one."""

    envelope: Envelope
    reason: str

    def line(self) -> str:
        e = self.envelope
        return f"  {e.event_type} {e.stream_id}@{e.stream_version} id={e.event_id}: {self.reason[:300]}"


@dataclass
class Replay:
    """How far a replay into `target` got: where to go on from, what it applied and could not apply."""

    target: str
    after: Position = field(default_factory=Position)
    applied: int = 0
    unapplied: list[Unapplied] = field(default_factory=list)


async def analyse(conn: asyncpg.Connection, schema: str, tables: list[str] | None = None) -> None:
    """Fresh tables have no statistics: without them the planner would scan them whole for a while."""
    kinds = {r["relname"]: r["relkind"] for r in await conn.fetch(
        """SELECT c.relname, c.relkind::text AS relkind FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1""",
        schema,
    )}  # fmt: skip
    for table in tables if tables is not None else sorted(kinds):
        if kinds.get(table) in ("r", "p"):
            await conn.execute(f"ANALYZE {ident(schema)}.{ident(table)}")


# A fresh schema's statistics are taken again after these many batches, as its tables grow tenfold.
_ANALYSE_AFTER = (1, 10, 100, 1000, 10_000)


async def replay_store(
    conn: asyncpg.Connection, replay: Replay, batch_size: int, what: str = "rebuilding", fresh: bool = False
) -> Replay:
    """The stored events after `replay.after`, in commit order, through the projector's batch code and
    its HANDLERS into `replay.target`. A batch that fails is applied again event by event, so that
    each event that cannot be applied is named and the others still are.

    `fresh`: into a schema created empty for this replay (timed_replay), which nothing else writes:
    the discovery totals are left to a recount after it, and the planner is given statistics as the
    tables grow (the batch's look-ups by key would otherwise become scans of growing tables)."""
    from services.projector.handlers import Projector  # the projector's own code, not a copy

    store = EventStore(producer="viralspot-cli")
    projector = Projector(store, schema=replay.target, totals=not fresh)
    batches = 0
    total = await conn.fetchval(
        "SELECT count(*) FROM eventstore.events WHERE (tx_id, position) > ($1::text::xid8, $2)",
        str(replay.after.tx_id),
        replay.after.position,
    )
    progress = Progress(f"{what} {replay.target}", total=total, every=max(batch_size, 1))
    while records := await store.read_all(conn, after=replay.after, limit=batch_size):
        items = []
        for record in records:
            try:
                items.append((record.envelope, record.envelope.event()))
            except PoisonMessage as poison:  # the live consumer dead-letters these
                replay.unapplied.append(Unapplied(record.envelope, f"{poison.reason}: {poison.detail}"))
            except NewerSchemaVersion as newer:  # written by newer code: rebuild with that code
                replay.unapplied.append(Unapplied(record.envelope, f"newer_schema_version: {newer}"))
        await apply_or_name(conn, projector, items, replay)
        replay.after = records[-1].position
        replay.applied += len(items)
        progress.advance(len(records))
        batches += 1
        if fresh and batches in _ANALYSE_AFTER:
            await analyse(conn, replay.target)
    progress.finish()
    return replay


async def apply_or_name(
    conn: asyncpg.Connection, projector: Any, items: list[tuple[Envelope, Event]], replay: Replay
) -> None:
    try:
        async with conn.transaction():
            await projector.apply_batch(conn, items)
        return
    except Exception as exc:
        if is_database_outage(exc):
            raise
        if len(items) == 1:
            replay.unapplied.append(Unapplied(items[0][0], f"{type(exc).__name__}: {exc}"))
            return
    for item in items:
        await apply_or_name(conn, projector, [item], replay)


@dataclass
class TableDiff:
    name: str
    live_rows: int = 0
    rebuilt_rows: int = 0
    only_live: int = 0
    only_rebuilt: int = 0
    problem: str | None = None
    samples: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.problem is None and not self.only_live and not self.only_rebuilt


async def _columns(conn: asyncpg.Connection, schema: str, table: str) -> dict[str, str]:
    return {r["column_name"]: r["data_type"] for r in await conn.fetch(_COLUMNS, schema, table)}


async def compare_table(conn: asyncpg.Connection, live: str, rebuilt: str, table: str) -> TableDiff:
    diff = TableDiff(table)
    live_columns = await _columns(conn, live, table)
    rebuilt_columns = await _columns(conn, rebuilt, table)
    if not live_columns or not rebuilt_columns:
        diff.problem = f"missing in {rebuilt if live_columns else live}"
        return diff
    if live_columns != rebuilt_columns:
        diff.problem = "columns differ"
        return diff
    ignored = IGNORED_COLUMNS.get(table, ())
    # json has no equality operator; compare it as jsonb.
    select = ", ".join(
        f"{ident(c)}::jsonb AS {ident(c)}" if t == "json" else ident(c)
        for c, t in live_columns.items()
        if c not in ignored
    )
    a, b = f"{ident(live)}.{ident(table)}", f"{ident(rebuilt)}.{ident(table)}"
    diff.live_rows = await conn.fetchval(f"SELECT count(*) FROM {a}")
    diff.rebuilt_rows = await conn.fetchval(f"SELECT count(*) FROM {b}")
    for side, first, second in (("-", a, b), ("+", b, a)):
        rows = await conn.fetch(
            f"""SELECT count(*) OVER () AS n, row_to_json(d)::text AS row
                FROM (SELECT {select} FROM {first} EXCEPT ALL SELECT {select} FROM {second}) d LIMIT 3"""
        )
        count = rows[0]["n"] if rows else 0
        if side == "-":
            diff.only_live = count
        else:
            diff.only_rebuilt = count
        diff.samples.extend(f"{side} {r['row'][:400]}" for r in rows)
    return diff


async def compare_schemas(conn: asyncpg.Connection, live: str, rebuilt: str) -> list[TableDiff]:
    names = {r["name"] for r in await conn.fetch(_RELATIONS, live)}
    names |= {r["name"] for r in await conn.fetch(_RELATIONS, rebuilt)}
    return [await compare_table(conn, live, rebuilt, name) for name in sorted(names)]


def report(diffs: list[TableDiff], live: str, rebuilt: str) -> int:
    emit(f"{'table':<26} {'live':>8} {'rebuilt':>8} {'only live':>10} {'only rebuilt':>13}")
    for d in diffs:
        verdict = "ok" if d.identical else f"DIFFERENT{': ' + d.problem if d.problem else ''}"
        emit(
            f"{d.name:<26} {d.live_rows:>8} {d.rebuilt_rows:>8} {d.only_live:>10} {d.only_rebuilt:>13}  {verdict}"
        )
    emit("ignored columns: " + ", ".join(f"{t}.{c}" for t, cs in IGNORED_COLUMNS.items() for c in cs))
    different = [d for d in diffs if not d.identical]
    if not different:
        emit(f"identical: {live} and {rebuilt} hold the same rows in all {len(diffs)} tables and views")
        return 0
    emit(
        f"{len(different)} of {len(diffs)} tables or views differ ('-' only in {live}, '+' only in {rebuilt}):"
    )
    for d in different:
        emit(f"  {d.name}: {d.problem or f'{d.only_live} rows only live, {d.only_rebuilt} only rebuilt'}")
        for sample in d.samples:
            emit(f"    {sample}")
    return 1


# The discovery feed's indexes (content_feed_*, migrations 009 and 010) serve the gateway's reads
# alone: the projector finds its rows by key and by creator. A fresh schema gets them once its replay
# is done, one sort each rather than an update of each of them for every reel written.
_DEFERRED_INDEXES = r"""SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition FROM pg_index x
                        JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
                        WHERE n.nspname = $1 AND i.relname LIKE '%\_feed\_%' AND NOT x.indisunique
                        ORDER BY i.relname"""


async def timed_replay(conn: asyncpg.Connection, replay: Replay, batch_size: int) -> Replay:
    """The whole store into a fresh schema, its feed indexes built and its discovery totals counted
    after (once, from the rows, rather than kept batch by batch); the rate counts all of it."""
    from services.projector import discovery_tables, repository

    started = time.perf_counter()
    deferred = await conn.fetch(_DEFERRED_INDEXES, replay.target)
    for index in deferred:
        await conn.execute(f"DROP INDEX {ident(replay.target)}.{ident(index['name'])}")
    # A batch's commit need not wait for its WAL to reach the disk: a crash during the replay leaves a
    # schema nobody reads, rebuilt anew; what is swapped in later is committed synchronously, its WAL
    # (and so every batch's before it) flushed.
    await conn.execute("SET synchronous_commit = off")
    try:
        await replay_store(conn, replay, batch_size, fresh=True)
        async with conn.transaction():
            await repository.project_into(conn, replay.target)
            await discovery_tables.recount(conn)
    finally:
        await conn.execute("RESET synchronous_commit")
    await conn.execute("SET maintenance_work_mem = '256MB'")  # each index one sort in memory
    for index in deferred:
        await conn.execute(index["definition"])
    seconds = time.perf_counter() - started
    rate = replay.applied / max(seconds, 1e-9)
    emit(
        f"rebuilt {replay.target} from {replay.applied} events in {seconds:.1f} s ({rate:.0f} events/s), "
        f"{len(deferred)} feed indexes built after the replay"
    )
    return replay


def report_unapplied(replay: Replay) -> int:
    """Loudly: a read model missing an event is wrong, however the comparison turns out."""
    if not replay.unapplied:
        return 0
    emit(f"ERROR: {len(replay.unapplied)} stored events could not be applied to {replay.target}:")
    for unapplied in replay.unapplied:
        emit(unapplied.line())
    return 2


async def drop_schema(conn: asyncpg.Connection, schema: str) -> None:
    await conn.execute(f"DROP SCHEMA IF EXISTS {ident(schema)} CASCADE")
    emit(f"dropped schema {schema}")


async def run_rebuild(ctx: Context, args: argparse.Namespace) -> int:
    if args.swap:
        if args.compare or args.drop:
            raise CommandError("--swap compares and drops what it no longer needs itself")
        from cli.readmodel_swap import run_swap

        return await run_swap(ctx, args)
    if args.dry_run or args.yes or args.keep_old:
        raise CommandError("--dry-run, --yes and --keep-old go with --swap")
    target = schema_name(args.schema or f"readmodel_rebuild_{datetime.now(UTC):%Y%m%d%H%M%S}")
    if target == LIVE_SCHEMA:
        raise CommandError("refusing to rebuild into the live schema")
    conn = await connect(ctx.database_url)
    try:
        tables = await create_schema(conn, LIVE_SCHEMA, target)
        emit(f"created schema {target} with {len(tables)} tables and views like {LIVE_SCHEMA}")
        try:
            replay = await timed_replay(conn, Replay(target), args.batch_size)
            code = report_unapplied(replay)
            if args.compare:
                code = max(
                    code, report(await compare_schemas(conn, LIVE_SCHEMA, target), LIVE_SCHEMA, target)
                )
        finally:
            if args.drop:
                await drop_schema(conn, target)
    finally:
        await conn.close()
    return code


async def run_compare(ctx: Context, args: argparse.Namespace) -> int:
    live, rebuilt = schema_name(args.live), schema_name(args.schema)
    if live == rebuilt:
        raise CommandError("--schema and --live name the same schema")
    conn = await connect(ctx.database_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", rebuilt):
            raise CommandError(f"schema {rebuilt} does not exist; run `viralspot readmodels rebuild` first")
        code = report(await compare_schemas(conn, live, rebuilt), live, rebuilt)
        if args.drop:
            await drop_schema(conn, rebuilt)
    finally:
        await conn.close()
    return code
