"""Figure 10: rebuilding every read model from a store of BENCH_REBUILD_EVENTS events (`viralspot readmodels
rebuild`, the code `--swap` runs), and what decoding through a one-step upcaster costs next to none.

The issue asks for the rate over 1,000,000 events; at the rate measured here (about 5,000 events/s) that
is over three minutes, so `make bench` replays 100,000 (the rate does not depend on the store's size:
every projection statement is an index look-up, and the discovery totals are counted once at the end)
and BENCH_REBUILD_EVENTS=1000000 runs the full one. Each creator's request has its own id, as in the
product (one id shared by every creator would make every profile_queue write hit one row)."""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bench.environment import BenchEnvironment, progress
from libs.events import Envelope
from libs.events.catalog import (
    Event,
    ProfileIngestStarted,
    ProfileRequested,
    profile_stream,
)
from libs.events.migrate import migrate
from tests.support import infra
from tests.support.cli import viralspot
from tests.support.projector import categories, creator_categorised, ingested, reel, reels_categorised

EVENTS = int(os.environ.get("BENCH_REBUILD_EVENTS", "100000"))
REELS = 4  # per ingestion: a creator's reels as one ProfileIngested carries them, and their categories
GOAL_EVENTS_PER_S = 20_000
BATCH = 1000
COPY_ROWS = 50_000
NAME = "bench.creator.template"
REQUEST = "0000beef"


def _profile_events(reels: int) -> list[Event]:
    """One creator's stream as the product writes it: requested, started, ingested, categorised twice."""
    snapshots = [reel(f"77{k}77", 1000 * (k + 1)) for k in range(reels)]
    return [
        ProfileRequested(username=NAME, source="crawler", priority="LOW", request_id=REQUEST),
        ProfileIngestStarted(username=NAME, request_id=REQUEST, attempt=1),
        ingested(NAME, snapshots),
        creator_categorised(NAME, "cooking", "lifestyle"),
        reels_categorised(NAME, *(categories(f"77{k}77", "cooking") for k in range(reels))),
    ]


def _templates() -> list[tuple[str, int, str]]:
    """(event type, schema version, payload JSON) with the template's name and content ids to replace."""
    return [
        (e.event_type, e.schema_version, orjson.dumps(e.model_dump(mode="json")).decode())
        for e in _profile_events(REELS)
    ]


def _rows(first: int, count: int, templates: list[tuple[str, int, str]]) -> list[tuple[Any, ...]]:
    # Every content id, and the shortcodes and addresses made from it: "{i}0{k}" is unique per (i, k).
    ids = re.compile(r"77(\d)77")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows: list[tuple[Any, ...]] = []
    for i in range(first, first + count):
        name = f"bench.rebuild{i}"
        correlation = uuid.uuid4()
        for version, (event_type, schema, payload) in enumerate(templates, start=1):
            body = ids.sub(lambda m, i=i: f"{i}0{m.group(1)}", payload.replace(NAME, name))
            body = body.replace(REQUEST, f"{i:08x}")  # each creator's request its own, as in the product
            at = start + timedelta(seconds=i, milliseconds=version)
            rows.append(
                (uuid.uuid4(), profile_stream(name), version, event_type, schema, at, "profile-ingest",
                 correlation, body, at)
            )  # fmt: skip
    return rows


async def seed(url: str, events: int) -> int:
    """Written with COPY, as published events of profile-ingest: `events` rounded to whole streams."""
    import asyncpg

    templates = _templates()
    profiles = max(1, events // len(templates))
    conn = await asyncpg.connect(url)
    try:
        per_copy = max(1, COPY_ROWS // len(templates))
        for first in range(0, profiles, per_copy):
            rows = await asyncio.to_thread(_rows, first, min(per_copy, profiles - first), templates)
            await conn.copy_records_to_table(
                "events",
                schema_name="eventstore",
                records=rows,
                columns=["event_id", "stream_id", "stream_version", "event_type", "schema_version",
                         "occurred_at", "producer", "correlation_id", "payload", "published_at"],
            )  # fmt: skip
        await conn.execute("ANALYZE eventstore.events")
        return await conn.fetchval("SELECT count(*) FROM eventstore.events")
    finally:
        await conn.close()


_RATE = re.compile(r"rebuilt (\S+) from (\d+) events in ([\d.]+) s \((\d+) events/s\)")


async def rebuild_rate(events: int) -> dict[str, Any]:
    name = infra.unique("vs_bench_rebuild")
    url = await infra.create_database(name)
    try:
        await migrate(url)
        started = time.perf_counter()
        stored = await seed(url, events)
        seeded_s = time.perf_counter() - started
        env = {**os.environ, "DATABASE_URL": url}
        started = time.perf_counter()
        result = await viralspot(
            env, "readmodels", "rebuild", "--batch-size", str(BATCH), "--drop", timeout_s=3600
        )
        wall_s = time.perf_counter() - started
        assert result.code == 0, result.stdout + result.stderr
        match = _RATE.search(result.stdout)
        assert match is not None, result.stdout
        return {
            "events": stored,
            "reels_per_ingestion": REELS,
            "batch_size": BATCH,
            "seeded_s": round(seeded_s, 1),
            "replay_s": float(match.group(3)),
            "events_per_s": int(match.group(4)),
            "command_wall_s": round(wall_s, 1),
            "goal_events_per_s": GOAL_EVENTS_PER_S,
        }
    finally:
        await infra.drop_database(name)


DECODES = 20_000
ROUNDS = 7


def _analysis_requested(version: int) -> Envelope:
    """One AnalysisRequested as stored at `version`: v1 named its competitors by username alone."""
    competitors: list[Any] = [f"rival.{i}" for i in range(5)]
    if version >= 2:
        competitors = [{"username": c, "selection_method": "manual"} for c in competitors]
    payload = {
        "queue_id": str(uuid.uuid4()), "session_id": "bench", "primary_username": "bench.creator",
        "competitors": competitors, "priority": 5, "rerun_frequency_hours": 24,
        "content_strategy": {"contentType": "Workouts", "targetAudience": "Parents", "goals": "Grow"},
    }  # fmt: skip
    return Envelope(
        event_id=uuid.uuid4(), event_type="AnalysisRequested", schema_version=version,
        occurred_at=datetime.now(UTC), producer="gateway", stream_id="analysis-bench", stream_version=1,
        correlation_id=uuid.uuid4(), payload=payload,
    )  # fmt: skip


def decode_cost() -> dict[str, Any]:
    """Envelope.event() for a version-1 AnalysisRequested (one upcaster step) against the same event
    stored at version 2 (none), in alternating rounds; the best round of each (the least disturbed)."""
    stored = {1: _analysis_requested(1), 2: _analysis_requested(2)}
    assert stored[1].event() == stored[2].event().model_copy(
        update={"queue_id": stored[1].payload["queue_id"]}
    )
    best = {1: float("inf"), 2: float("inf")}
    for _ in range(ROUNDS):
        for version, envelope in stored.items():
            started = time.perf_counter()
            for _ in range(DECODES):
                envelope.event()
            best[version] = min(best[version], (time.perf_counter() - started) / DECODES)
    return {
        "decodes_per_round": DECODES,
        "rounds": ROUNDS,
        "current_us": round(best[2] * 1e6, 2),
        "one_step_us": round(best[1] * 1e6, 2),
        "ratio": round(best[1] / best[2], 3),
        "goal_ratio": 1.1,
    }


async def section(env: BenchEnvironment) -> dict[str, Any]:
    return {
        "decode": progress("10. decoding through an upcaster", decode_cost()),
        "rebuild": progress("10. rebuild rate", await rebuild_rate(EVENTS)),
    }
