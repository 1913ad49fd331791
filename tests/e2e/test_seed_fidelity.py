"""The seeds to the letter (issue 20): one truth about a profile an analysis fetched, seed 000's /process
answers (troubleshooting texts, PROCESSING_INITIATION_FAILED, a status that says what is true), and the
original's check-existing and queue-status fields."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from libs.events import Topology
from services.gateway.settings import GatewaySettings
from tests.conftest import make_settings
from tests.e2e.test_viral_analysis import ADMIN, STRATEGY, analysis, sim, submit, wait_job  # noqa: F401
from tests.support import infra

SEED_000 = {
    "QUEUE_NOT_FOUND": "Verify the queue_id exists in the viral_ideas_queue table and viral_queue_summary view",
    "INVALID_UUID_FORMAT": "Ensure queue_id is a properly formatted UUID (e.g., 12345678-1234-1234-1234-123456789012)",
    "PROCESSING_INITIATION_FAILED": (
        "Please retry the request. If the problem persists, check system resources and contact administrator"
    ),
}


@pytest.fixture
def gateway_settings(database_url: str, amqp_url: str, topology: Topology) -> GatewaySettings:
    return make_settings(
        GatewaySettings,
        database_url,
        amqp_url,
        topology,
        admin_token="test-admin-token",
        profile_freshness_hours=24,
    )


@pytest.mark.usefixtures("analysis")
async def test_a_profile_an_analysis_fetched_is_known_to_status_and_dedup(
    api: TestClient, pool: asyncpg.Pool
) -> None:
    await submit(api, "one-truth", competitors=["fit.coach.amy"])
    await wait_job(api, "one-truth", "completed")
    assert (await api.get("/api/profile/fit.coach.amy")).status == 200
    status = (await (await api.get("/api/profile/fit.coach.amy/status")).json())["data"]
    assert status["status"] == "completed" and status["completed"] is True and status["completed_at"]
    answer = (await (await api.post("/api/profile/fit.coach.amy/request")).json())["data"]
    assert answer["queued"] is False and answer["skip_reason"] == "recently_completed"
    assert answer["last_fetched_at"] == status["completed_at"]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM eventstore.events WHERE stream_id = 'profile-fit.coach.amy'"
        )
        == 0
    )
    # Older than PROFILE_FRESHNESS_HOURS (24 here): fetched again.
    await pool.execute(
        "UPDATE readmodel.primary_profiles SET last_scraped_at = now() - interval '2 days' "
        "WHERE username = 'fit.coach.amy'"
    )
    answer = (await (await api.post("/api/profile/fit.coach.amy/request")).json())["data"]
    assert answer["queued"] is True and answer["profile_type"] == "new"
    # A profile nobody fetched is still unknown.
    resp = await api.get("/api/profile/nobody.fetched/status")
    assert resp.status == 404 and (await resp.json())["error_code"] == "PROFILE_NOT_FOUND"


async def test_process_keeps_seed_000s_troubleshooting_texts(api: TestClient, pool: asyncpg.Pool) -> None:
    resp = await api.post(
        "/api/viral-ideas/queue/00000000-0000-4000-8000-000000000000/process", headers=ADMIN
    )
    body = await resp.json()
    assert resp.status == 404 and body["troubleshooting"] == SEED_000["QUEUE_NOT_FOUND"]
    resp = await api.post("/api/viral-ideas/queue/not-a-uuid/process", headers=ADMIN)
    body = await resp.json()
    assert resp.status == 400 and body["troubleshooting"] == SEED_000["INVALID_UUID_FORMAT"]
    # An unexpected failure (here the idempotency table gone) is seed 000's 500, without a trace.
    created = await submit(api, "process-500", competitors=[])
    await pool.execute("ALTER TABLE gateway.idempotency_keys RENAME TO idempotency_keys_gone")
    try:
        resp = await api.post(
            f"/api/viral-ideas/queue/{created['id']}/process", headers={**ADMIN, "Idempotency-Key": "k-500"}
        )
        body = await resp.json()
    finally:
        await pool.execute("ALTER TABLE gateway.idempotency_keys_gone RENAME TO idempotency_keys")
    assert resp.status == 500 and body["error_code"] == "PROCESSING_INITIATION_FAILED"
    assert body["detail"] == "Internal server error: Failed to create background processing task"
    assert body["troubleshooting"] == SEED_000["PROCESSING_INITIATION_FAILED"]
    assert "Traceback" not in await resp.text() and "idempotency" not in body["detail"]
    # Nothing was appended: the run was not triggered.
    events = await pool.fetchval(
        "SELECT count(*) FROM eventstore.events WHERE stream_id = $1 AND event_type = 'AnalysisTriggered'",
        f"analysis-{created['id']}",
    )
    assert events == 0


async def test_process_says_the_run_is_queued_and_where(api: TestClient) -> None:
    first = await submit(api, "queued-1", competitors=[])
    second = await submit(api, "queued-2", competitors=[])
    # No worker runs here: both manual runs wait, the second behind the first.
    answers = []
    for job in (first, second):
        resp = await api.post(f"/api/viral-ideas/queue/{job['id']}/process", headers=ADMIN)
        answers.append((await resp.json())["data"])

        async def listed(queue_id: str = job["id"]) -> bool:
            resp = await api.get(f"/api/viral-ideas/queue/{queue_id}/runs", headers=ADMIN)
            runs = (await resp.json())["data"]["runs"]
            return bool(runs) and runs[0]["trigger"] == "manual"

        await infra.eventually(listed, timeout_s=20, message="the manual run projected")
    assert [a["immediate_processing"]["status"] for a in answers] == ["queued_for_immediate_processing"] * 2
    assert [a["immediate_processing"]["queue_position"] for a in answers] == [1, 2]
    estimate = answers[0]["estimated_completion"]
    assert estimate["measured_runs_last_24h"] == 0 and estimate["min_duration_minutes"] is None


async def test_check_existing_and_recent_items_carry_the_originals_fields(api: TestClient) -> None:
    created = await submit(api, "original-fields", competitors=["fit.coach.amy", "gym.bro.max"])

    async def projected() -> dict | None:
        resp = await api.get("/api/viral-ideas/queue-status", headers=ADMIN)
        items = (await resp.json())["data"]["recent_items"]
        return next((i for i in items if i["id"] == created["id"]), None)

    item = await infra.eventually(projected, timeout_s=20, message="the job in recent_items")
    assert (
        item["content_type"] == STRATEGY["contentType"]
        and item["target_audience"] == STRATEGY["targetAudience"]
    )
    assert item["active_competitors_count"] == 2
    found = (await (await api.get("/api/viral-ideas/check-existing/fitwithmaya", headers=ADMIN)).json())[
        "data"
    ]
    original = ("id", "session_id", "primary_username", "status", "progress_percentage", "submitted_at",
                "started_at", "completed_at", "error_message", "analysis_type")  # fmt: skip
    assert set(original) <= set(found)
    assert (found["id"], found["analysis_type"], found["status"]) == (created["id"], "active", "pending")
