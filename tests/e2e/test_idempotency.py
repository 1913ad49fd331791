"""Idempotency-Key on the creating POSTs: a client retrying after a lost answer gets the first answer
again and creates nothing twice; the same key for a different request is refused."""

import asyncio

import asyncpg
from aiohttp.test_utils import TestClient

from tests.e2e.test_viral_analysis import ADMIN, STRATEGY

JOB = {"session_id": "s-idem", "primary_username": "maya", "content_strategy": STRATEGY}


async def count(pool: asyncpg.Pool, event_type: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM eventstore.events WHERE event_type = $1", event_type)


async def test_a_retried_analysis_request_gets_the_first_answer_and_queues_one_job(
    api: TestClient, pool: asyncpg.Pool
) -> None:
    key = {"Idempotency-Key": "retry-me-1"}
    first = await api.post("/api/viral-ideas/queue", json=JOB, headers=key)
    again = await api.post("/api/viral-ideas/queue", json=JOB, headers=key)
    assert first.status == again.status == 201
    assert await first.json() == await again.json()
    assert "Idempotent-Replayed" not in first.headers and again.headers["Idempotent-Replayed"] == "true"
    assert await count(pool, "AnalysisRequested") == 1
    # Without the key the same retry is refused: the session exists.
    assert (await api.post("/api/viral-ideas/queue", json=JOB)).status == 409


async def test_the_same_key_for_another_request_is_refused(api: TestClient, pool: asyncpg.Pool) -> None:
    key = {"Idempotency-Key": "retry-me-2"}
    assert (await api.post("/api/viral-ideas/queue", json=JOB, headers=key)).status == 201
    other = await api.post("/api/viral-ideas/queue", json={**JOB, "session_id": "s-other"}, headers=key)
    assert other.status == 422 and (await other.json())["error_code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await count(pool, "AnalysisRequested") == 1


async def test_concurrent_requests_with_one_key_create_one_run(api: TestClient, pool: asyncpg.Pool) -> None:
    key = {"Idempotency-Key": "same-click-many-times"}
    answers = await asyncio.gather(
        *(api.post("/api/viral-ideas/queue", json=JOB, headers=key) for _ in range(10))
    )
    assert {a.status for a in answers} == {201}
    assert len({(await a.json())["data"]["id"] for a in answers}) == 1
    assert await count(pool, "AnalysisRequested") == 1


async def test_a_retried_crawl_run_request_starts_one_run(api: TestClient, pool: asyncpg.Pool) -> None:
    headers = {**ADMIN, "Idempotency-Key": "crawl-once"}
    body = {"seed_usernames": ["chef_leo"]}
    first = await api.post("/api/crawler/runs", json=body, headers=headers)
    again = await api.post("/api/crawler/runs", json=body, headers=headers)
    assert first.status == again.status == 202
    assert (await first.json())["data"]["run_id"] == (await again.json())["data"]["run_id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert await count(pool, "CrawlRequested") == 1
    # No key: every request is a run of its own.
    await api.post("/api/crawler/runs", json=body, headers=ADMIN)
    assert await count(pool, "CrawlRequested") == 2


async def test_a_retried_manual_run_is_replayed_not_refused_as_already_processing(
    api: TestClient, pool: asyncpg.Pool
) -> None:
    queue_id = (await (await api.post("/api/viral-ideas/queue", json=JOB)).json())["data"]["id"]
    headers = {**ADMIN, "Idempotency-Key": "process-once"}
    first = await api.post(f"/api/viral-ideas/queue/{queue_id}/process", json={}, headers=headers)
    again = await api.post(f"/api/viral-ideas/queue/{queue_id}/process", json={}, headers=headers)
    assert first.status == again.status == 200
    assert (await again.json())["data"]["immediate_processing"]["run"] == 1
    assert await count(pool, "AnalysisTriggered") == 1


async def test_a_retried_profile_request_gets_its_new_answer_again(
    api: TestClient, pool: asyncpg.Pool
) -> None:
    key = {"Idempotency-Key": "profile-once"}
    first = await api.post("/api/profile/idem.creator/request", headers=key)
    again = await api.post("/api/profile/idem.creator/request", headers=key)
    assert (await first.json())["data"]["profile_type"] == "new"
    assert await again.json() == await first.json()
    plain = await api.post("/api/profile/idem.creator/request")
    assert (await plain.json())["data"]["skip_reason"] == "already_in_queue"
    assert await count(pool, "ProfileRequested") == 1


async def test_a_malformed_key_is_refused(api: TestClient, pool: asyncpg.Pool) -> None:
    for bad in ("", "has space", "x" * 256, "caf\u00e9"):
        resp = await api.post("/api/viral-ideas/queue", json=JOB, headers={"Idempotency-Key": bad})
        assert resp.status == 400 and (await resp.json())["error_code"] == "INVALID_IDEMPOTENCY_KEY", bad
    assert await count(pool, "AnalysisRequested") == 0
