"""Free-form input is bounded at the edge, and the store refuses any event the relay could not send:
a single request can no longer stop the outbox for everyone."""

import uuid

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from libs.events import EventStore, NewEvent
from libs.events.catalog import AnalysisCompleted
from libs.events.store import MAX_EVENT_BYTES, UnpublishableEvent
from services.gateway.bounded_json import MAX_BYTES, MAX_DEPTH, MAX_ENTRIES, MAX_STRING, check_bounded
from tests.e2e.test_viral_analysis import STRATEGY
from tests.support import infra
from tests.support.events import analysis_result


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    "settings",
    [
        nested(250),  # the reported outage: accepted, then unpublishable for the relay
        nested(MAX_DEPTH + 1),
        {f"k{i}": i for i in range(MAX_ENTRIES + 1)},
        {"list": list(range(MAX_ENTRIES))},
        {"s": "x" * (MAX_STRING + 1)},
        {"x" * (MAX_STRING + 1): 1},
        {f"k{i}": "y" * 900 for i in range(10)},  # each bound kept, over MAX_BYTES together
    ],
    ids=["250-deep", "too-deep", "too-many-keys", "too-many-items", "long-string", "long-key", "too-big"],
)
async def test_analysis_settings_over_a_bound_is_refused_and_records_nothing(
    api: TestClient, pool: asyncpg.Pool, settings: dict
) -> None:
    body = {"session_id": "s-bounds", "primary_username": "maya", "content_strategy": STRATEGY}
    resp = await api.post("/api/viral-ideas/queue", json={**body, "analysis_settings": settings})
    assert resp.status == 422, await resp.text()
    error = await resp.json()
    assert error["error_code"] == "VALIDATION_ERROR"
    assert [f["field"] for f in error["fields"]] == ["analysis_settings"]
    assert await pool.fetchval("SELECT count(*) FROM eventstore.events") == 0


async def test_analysis_settings_at_every_bound_is_accepted_and_published(
    api: TestClient, pool: asyncpg.Pool
) -> None:
    settings = {"deep": nested(MAX_DEPTH - 1), "list": list(range(10)), "s": "z" * MAX_STRING}
    assert check_bounded(settings) is settings
    body = {"session_id": "s-ok", "primary_username": "maya", "content_strategy": STRATEGY}
    resp = await api.post("/api/viral-ideas/queue", json={**body, "analysis_settings": settings})
    assert resp.status == 201, await resp.text()
    # A profile request afterwards goes out too: nothing is stuck behind the analysis request.
    resp = await api.post("/api/profile/after.bounds/request")
    assert resp.status == 200
    await infra.eventually(
        lambda: pool.fetchval("SELECT bool_and(published_at IS NOT NULL) FROM eventstore.events"),
        message="both events published",
    )
    assert MAX_BYTES <= 8 * 1024


async def test_the_store_refuses_an_event_the_relay_could_not_send(pool: asyncpg.Pool) -> None:
    store = EventStore(producer="gateway")
    queue_id = str(uuid.uuid4())
    too_deep = AnalysisCompleted(queue_id=queue_id, run=1, result=analysis_result(nested(300)))
    too_large = AnalysisCompleted(
        queue_id=queue_id, run=1, result=analysis_result({"x": "y" * MAX_EVENT_BYTES})
    )
    for event in (too_deep, too_large):
        async with pool.acquire() as conn:
            with pytest.raises(UnpublishableEvent):
                await store.append(conn, f"analysis-{queue_id}", [NewEvent(event=event)], expected_version=0)
    assert await pool.fetchval("SELECT count(*) FROM eventstore.events") == 0
