"""A job's status read right after its creation, before the projector has shown it (read-your-writes)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from tests.e2e.test_viral_analysis import COMPETITORS, STRATEGY
from tests.integration.test_relay_and_restarts import projector_runtime
from tests.support import infra
from tests.support.runtime import running


async def status(api: TestClient, session: str) -> tuple[int, dict]:
    resp = await api.get(f"/api/viral-ideas/queue/{session}")
    return resp.status, await resp.json()


async def test_a_new_job_answers_from_its_request_until_the_projector_shows_it(
    gateway_settings, amqp, aiohttp_client
) -> None:
    gateway = ServiceRuntime("gateway", gateway_settings, stateless_db=True)
    async with running(gateway):  # no projector yet: the read model stays empty
        api = await aiohttp_client(create_app(gateway, gateway_settings))
        body = {
            "session_id": "ryw-1",
            "primary_username": "fitwithmaya",
            "selected_competitors": COMPETITORS[:3],
            "content_strategy": STRATEGY,
            "analysis_settings": {"depth": "deep"},
        }
        created = await api.post("/api/viral-ideas/queue", json=body)
        assert created.status == 201, await created.text()
        queue_id = (await created.json())["data"]["id"]
        code, early = await status(api, "ryw-1")
        assert code == 200, early
        job = early["data"]
        assert (job["id"], job["status"], job["progress_percentage"]) == (queue_id, "pending", 0)
        assert job["competitors"] == COMPETITORS[:3] and job["content_type"] == STRATEGY["contentType"]
        assert job["can_be_cancelled"] is True and job["analysis_settings"] == {"depth": "deep"}
        assert (await status(api, "ryw-none"))[0] == 404

        # What the projector writes later is what was answered before it.
        async with running(projector_runtime(gateway_settings)):

            async def projected() -> bool:
                assert gateway.pool is not None
                held = "SELECT count(*) FROM readmodel.viral_ideas_queue WHERE session_id = 'ryw-1'"
                return await gateway.pool.fetchval(held) == 1

            await infra.eventually(projected, timeout_s=20, message="the job projected")
            code, late = await status(api, "ryw-1")
        assert code == 200
        assert late["data"] == early["data"]


async def test_a_job_cancelled_before_it_is_projected_reads_as_cancelled(
    gateway_settings, amqp, aiohttp_client
) -> None:
    gateway = ServiceRuntime("gateway", gateway_settings, stateless_db=True)
    async with running(gateway):
        api = await aiohttp_client(create_app(gateway, gateway_settings))
        body = {"session_id": "ryw-2", "primary_username": "fitwithmaya", "content_strategy": STRATEGY}
        created = await api.post("/api/viral-ideas/queue", json=body)
        queue_id = (await created.json())["data"]["id"]
        assert (await api.post(f"/api/viral-ideas/queue/{queue_id}/cancel")).status == 200
        code, job = await status(api, "ryw-2")
    assert code == 200 and job["data"]["status"] == "cancelled" and job["data"]["can_be_rerun"] is True
