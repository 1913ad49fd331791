"""How each competitor was chosen, end to end: typed in ("manual", a bare username as the seeds send
it) or taken from the competitor picker ("suggested"), recorded in the event, projected and shown by
GET /api/viral-ideas/queue/{session_id}; and a job stored by the code before selection methods existed
shows its competitors typed in."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.support import infra
from tests.support.events import analysis_requested_v1

STRATEGY = {"contentType": "Home workouts", "targetAudience": "Busy parents", "goals": "Grow"}


async def competitor_details(api: TestClient, session: str, expected: list[tuple[str, str]]) -> list[dict]:
    """competitor_details once the read model shows `expected` (username, selection_method)."""

    async def check() -> list[dict] | None:
        resp = await api.get(f"/api/viral-ideas/queue/{session}")
        details = (await resp.json()).get("data", {}).get("competitor_details", [])
        return details if [(d["username"], d["selection_method"]) for d in details] == expected else None

    return await infra.eventually(check, timeout_s=20, message=f"{session} shows {expected}")


async def in_read_model(pool: asyncpg.Pool, queue_id: str, expected: list[tuple[str, str]]) -> None:
    """The projector wrote the competitor rows (the status may have answered from the stream)."""

    async def check() -> bool:
        rows = await pool.fetch(
            """SELECT competitor_username, selection_method FROM readmodel.viral_ideas_competitors
               WHERE queue_id = $1 ORDER BY position""",
            uuid.UUID(queue_id),
        )
        return [(r["competitor_username"], r["selection_method"]) for r in rows] == expected

    await infra.eventually(check, timeout_s=20, message=f"{queue_id} projected with {expected}")


async def test_a_suggested_competitor_is_recorded_and_shown_as_suggested(
    api: TestClient, pool: asyncpg.Pool
) -> None:
    body = {
        "session_id": "picked-1",
        "primary_username": "fitwithmaya",
        "selected_competitors": [
            "Fit.Coach.Amy",
            {"username": "@yoga.with.lin", "selection_method": "suggested"},
            {"username": "gym.bro.max"},
            {"username": "fit.coach.amy", "selection_method": "suggested"},  # a repeat: the first counts
            {"username": "FitWithMaya", "selection_method": "suggested"},  # the primary: never a competitor
        ],
        "content_strategy": STRATEGY,
    }
    resp = await api.post("/api/viral-ideas/queue", json=body)
    assert resp.status == 201, await resp.text()
    queue_id = (await resp.json())["data"]["id"]
    expected = [("fit.coach.amy", "manual"), ("yoga.with.lin", "suggested"), ("gym.bro.max", "manual")]

    row = await pool.fetchrow(
        "SELECT schema_version, payload FROM eventstore.events WHERE stream_id = $1", f"analysis-{queue_id}"
    )
    assert row["schema_version"] == 2
    assert [(c["username"], c["selection_method"]) for c in row["payload"]["competitors"]] == expected
    details = await competitor_details(api, "picked-1", expected)  # from the stream or the read model
    assert {d["processing_status"] for d in details} == {"pending"}
    await in_read_model(pool, queue_id, expected)
    await competitor_details(api, "picked-1", expected)

    # The owner re-picks: a kept competitor takes the method given now, a bare username is typed in.
    change = {
        "selected_competitors": [{"username": "gym.bro.max", "selection_method": "suggested"}, "run.fast.kai"]
    }
    resp = await api.patch(f"/api/viral-ideas/queue/{queue_id}", json=change)
    assert resp.status == 200, await resp.text()
    answer = (await resp.json())["data"]
    assert answer["changed"] == ["selected_competitors"]
    assert answer["selected_competitors"] == ["gym.bro.max", "run.fast.kai"]  # usernames, as before
    await competitor_details(api, "picked-1", [("gym.bro.max", "suggested"), ("run.fast.kai", "manual")])
    again = await api.patch(f"/api/viral-ideas/queue/{queue_id}", json=change)
    assert (await again.json())["data"]["changed"] == []


@pytest.mark.parametrize(
    "competitors",
    [
        [{"username": "bad name!", "selection_method": "suggested"}],
        [{"username": "fit.coach.amy", "selection_method": "guessed"}],
        [{"username": "fit.coach.amy", "selection_method": "manual", "picked_at": "now"}],
        [{"selection_method": "suggested"}],
        [7],
        [{"username": f"c{i}", "selection_method": "suggested"} for i in range(16)],
    ],
)
async def test_a_competitor_object_is_validated_as_strictly_as_a_username(
    api: TestClient, competitors: list[Any]
) -> None:
    body = {"session_id": "bad-pick", "primary_username": "fitwithmaya", "selected_competitors": competitors}
    resp = await api.post("/api/viral-ideas/queue", json={**body, "content_strategy": STRATEGY})
    assert resp.status == 422, await resp.text()
    assert (await resp.json())["error_code"] == "VALIDATION_ERROR"


async def test_a_job_stored_by_the_code_before_selection_methods_shows_its_competitors_typed_in(
    api: TestClient, pool: asyncpg.Pool
) -> None:
    """Version 1 of AnalysisRequested, written as the old gateway wrote it: the relay publishes it as
    stored, the projector upcasts it, and the status answers from either the stream or the read model."""
    queue_id = uuid.uuid4()
    v1 = analysis_requested_v1(str(queue_id))
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO gateway.analysis_sessions (session_id, queue_id, owner_id) VALUES ($1, $2, NULL)",
            "old-gateway",
            queue_id,
        )
        await conn.execute(
            """INSERT INTO eventstore.events (event_id, stream_id, stream_version, event_type, schema_version,
                                              occurred_at, producer, correlation_id, payload, metadata)
               VALUES ($1, $2, 1, 'AnalysisRequested', 1, now(), 'gateway', $1, $3, '{}')""",
            uuid.uuid4(),
            f"analysis-{queue_id}",
            v1,
        )
    typed_in = [("fit.coach.amy", "manual"), ("gym.bro.max", "manual")]
    await competitor_details(api, "old-gateway", typed_in)
    await in_read_model(pool, str(queue_id), typed_in)
    await competitor_details(api, "old-gateway", typed_in)
