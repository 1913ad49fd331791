"""A store that holds version 1 events, written as the old code wrote them (raw rows), replays through
today's code (`viralspot readmodels rebuild`, the projector's own batch code) to the very read model a
store holding only today's version gives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from libs.events import EventStore, NewEvent, Position
from libs.events.catalog import (
    REGISTRY,
    AnalysisRequested,
    AnalysisStarted,
    AnalysisUpdated,
    CompetitorStatusChanged,
    Event,
    analysis_stream,
)
from tests.ops.conftest import viralspot
from tests.support.cli import CliResult
from tests.support.infra import eventually

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
STRATEGY = {
    "contentType": "Home workouts",
    "targetAudience": "Parents",
    "goals": "Grow",
    "additionalNotes": None,
}


@dataclass(frozen=True)
class Stored:
    """One event of the story: as the code of today writes it, and as version 1's code wrote it (None:
    today's code wrote it in both stores, its type being at the same version then)."""

    stream_id: str
    event: Event
    v1_payload: dict[str, Any] | None = None


def competitors(*names: str, method: str = "manual") -> list[dict[str, str]]:
    return [{"username": n, "selection_method": method} for n in names]


def requested(queue_id: str, names: list[dict[str, str]], user_id: str | None = None) -> AnalysisRequested:
    return AnalysisRequested.model_validate(
        {
            "queue_id": queue_id,
            "session_id": f"session-{queue_id[-1]}",
            "primary_username": "fitwithmaya",
            "competitors": names,
            "content_strategy": STRATEGY,
            "priority": 5,
            "rerun_frequency_hours": 24,
            "user_id": user_id,
        }
    )


def requested_v1(event: AnalysisRequested) -> dict[str, Any]:
    """What version 1's AnalysisRequested.model_dump(mode="json") wrote: competitors as usernames."""
    return {
        "queue_id": event.queue_id,
        "session_id": event.session_id,
        "primary_username": event.primary_username,
        "competitors": [c.username for c in event.competitors],
        "content_strategy": STRATEGY,
        "analysis_settings": {},
        "priority": event.priority,
        "auto_rerun_enabled": event.auto_rerun_enabled,
        "rerun_frequency_hours": event.rerun_frequency_hours,
        "user_id": event.user_id,
    }


def updated_v1(event: AnalysisUpdated) -> dict[str, Any]:
    return {
        "queue_id": event.queue_id,
        "user_id": event.user_id,
        "competitors": None if event.competitors is None else [c.username for c in event.competitors],
        "content_strategy": None,
        "auto_rerun_enabled": event.auto_rerun_enabled,
        "rerun_frequency_hours": event.rerun_frequency_hours,
    }


def story() -> list[Stored]:
    a, b, c = (str(uuid.UUID(int=n)) for n in (0xA, 0xB, 0xC))
    typed_in = requested(a, competitors("fit.coach.amy", "gym.bro.max"))
    changed = AnalysisUpdated(queue_id=a, competitors=competitors("gym.bro.max", "yoga.with.lin"))
    first_run = AnalysisStarted(queue_id=a, run=1, worker="w1", lease_expires_at=T0 + timedelta(minutes=5))
    one_done = CompetitorStatusChanged(queue_id=a, run=1, username="gym.bro.max", status="completed")
    paused = AnalysisUpdated(queue_id=a, auto_rerun_enabled=False, rerun_frequency_hours=48)
    # Written after the raise only: the competitor picker's choices, the same in both stores.
    picked = [*competitors("fit.coach.amy"), *competitors("yoga.with.lin", method="suggested")]
    repicked = competitors("yoga.with.lin", "gym.bro.max", method="suggested")
    nobody = requested(c, [], user_id="alice")
    return [
        Stored(analysis_stream(a), typed_in, requested_v1(typed_in)),
        Stored(analysis_stream(a), changed, updated_v1(changed)),
        Stored(analysis_stream(a), first_run),
        Stored(analysis_stream(a), one_done),
        Stored(analysis_stream(a), paused, updated_v1(paused)),
        Stored(analysis_stream(b), requested(b, picked)),
        Stored(analysis_stream(b), AnalysisUpdated(queue_id=b, competitors=repicked)),
        Stored(analysis_stream(c), nobody, requested_v1(nobody)),
    ]


async def write(conn: asyncpg.Connection, events: list[Stored], *, as_version_1: bool) -> None:
    """The story into the store, one event a transaction as the services commit them: with
    `as_version_1`, the events version 1's code wrote are raw rows of that version."""
    store, versions = EventStore(producer="gateway"), dict.fromkeys((e.stream_id for e in events), 0)
    for n, e in enumerate(events):
        # The same ids and times in both stores: only the versions written differ.
        event_id, at = uuid.UUID(int=0x1000 + n), T0 + timedelta(seconds=n)
        versions[e.stream_id] += 1
        if as_version_1 and e.v1_payload is not None:
            await conn.execute(
                """INSERT INTO eventstore.events (event_id, stream_id, stream_version, event_type, schema_version,
                                                  occurred_at, producer, correlation_id, payload, metadata)
                   VALUES ($1, $2, $3, $4, 1, $5, 'gateway', $1, $6, '{}')""",
                event_id,
                e.stream_id,
                versions[e.stream_id],
                e.event.event_type,
                at,
                e.v1_payload,
            )
        else:
            new = NewEvent(event=e.event, event_id=event_id, occurred_at=at)
            await store.append(conn, e.stream_id, [new], expected_version=versions[e.stream_id] - 1)


async def rebuild(pool: asyncpg.Pool, cli_env: dict[str, str], schema: str) -> CliResult:
    async def tailable() -> bool:
        # A tail stops below the server's oldest running transaction (another test's, maybe).
        async with pool.acquire() as conn:
            return len(await EventStore(producer="test").read_all(conn, after=Position())) == len(story())

    await eventually(tailable, message="every event visible to a tail of the store")
    result = await viralspot(cli_env, "readmodels", "rebuild", "--schema", schema, "--batch-size", "3")
    assert result.code == 0, result.stdout + result.stderr
    return result


async def test_a_store_with_version_1_events_projects_to_what_version_2_events_give(
    pool: asyncpg.Pool, cli_env: dict[str, str]
) -> None:
    events = story()
    async with pool.acquire() as conn:
        await write(conn, events, as_version_1=True)
        stored_versions = await conn.fetch(
            "SELECT event_type, schema_version, count(*) AS n FROM eventstore.events GROUP BY 1, 2 ORDER BY 1, 2"
        )
    assert {(r["event_type"], r["schema_version"]): r["n"] for r in stored_versions} == {
        ("AnalysisRequested", 1): 2,
        ("AnalysisRequested", 2): 1,
        ("AnalysisStarted", 1): 1,
        ("AnalysisUpdated", 1): 2,
        ("AnalysisUpdated", 2): 1,
        ("CompetitorStatusChanged", 1): 1,
    }
    assert REGISTRY["AnalysisRequested"].schema_version == REGISTRY["AnalysisUpdated"].schema_version == 2
    await rebuild(pool, cli_env, "rm_mixed_versions")

    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM eventstore.events")
        await write(conn, events, as_version_1=False)
        versions = await conn.fetch("SELECT DISTINCT event_type, schema_version FROM eventstore.events")
    assert {r["event_type"]: r["schema_version"] for r in versions} == {
        name: REGISTRY[name].schema_version for name in {r["event_type"] for r in versions}
    }
    await rebuild(pool, cli_env, "rm_current_versions")

    compared = await viralspot(
        cli_env, "readmodels", "compare", "--schema", "rm_mixed_versions", "--live", "rm_current_versions"
    )
    assert compared.code == 0, compared.stdout + compared.stderr
    assert "identical" in compared.stdout
    rows = await pool.fetch(
        """SELECT q.session_id, c.competitor_username, c.selection_method, c.processing_status, c.position
           FROM rm_mixed_versions.viral_ideas_competitors c
           JOIN rm_mixed_versions.viral_ideas_queue q ON q.id = c.queue_id ORDER BY q.session_id, c.position"""
    )
    assert [tuple(r) for r in rows] == [
        ("session-a", "gym.bro.max", "manual", "completed", 0),
        ("session-a", "yoga.with.lin", "manual", "pending", 1),
        ("session-b", "yoga.with.lin", "suggested", "pending", 0),
        ("session-b", "gym.bro.max", "suggested", "pending", 1),
    ]
    jobs = await pool.fetch(
        """SELECT auto_rerun_enabled, rerun_frequency_hours, owner_id FROM rm_mixed_versions.viral_ideas_queue
           ORDER BY id"""
    )
    assert [tuple(j) for j in jobs] == [(False, 48, None), (True, 24, None), (True, 24, "alice")]
