"""Jobs belong to their creators: every job endpoint's answer to no token, bad tokens, the owner (HS256
and RS256 through a JWKS), another user and an administrator; scoped lists; anonymous jobs as the
seeds' clients use them; re-runs, changes and the runs they leave; the per-user running cap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from libs.events import Topology
from services.gateway.settings import GatewaySettings
from tests.conftest import make_settings
from tests.e2e.test_viral_analysis import analysis, sim  # noqa: F401  (fixtures: a worker, the simulator)
from tests.support import infra
from tests.support.tokens import AUDIENCE, SECRET, JwksServer, claims, hs256, rsa_key

ADMIN = {"Authorization": "Bearer test-admin-token"}
RSA = rsa_key("rsa-ownership")
STRATEGY = {"contentType": "Home workouts", "targetAudience": "Busy parents", "goals": "Grow"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_user(user: str, **changes: Any) -> dict[str, str]:
    return bearer(hs256(claims(user, **{"aud": AUDIENCE, **changes})))


ALICE = as_user("alice")
ALICE_RS256 = bearer(RSA.sign(claims("alice", aud=AUDIENCE)))
BOB = as_user("bob")
BAD_TOKENS = {
    "INVALID_TOKEN": [
        bearer(hs256(claims("alice", aud=AUDIENCE), secret="another-secret-that-is-long-enough-too")),
        as_user("alice", aud="another-api"),
        bearer("not.a.jwt"),
    ],
    "TOKEN_EXPIRED": [as_user("alice", lifetime_s=-600)],
}


@pytest.fixture
async def provider() -> AsyncIterator[JwksServer]:
    server = await JwksServer(keys=[RSA]).start()
    yield server
    await server.stop()


@pytest.fixture
def gateway_settings(
    database_url: str, amqp_url: str, topology: Topology, provider: JwksServer
) -> GatewaySettings:
    """The e2e gateway (conftest's `api`) with users: HS256 and a JWKS, an audience, a cap of 2."""
    return make_settings(
        GatewaySettings,
        database_url,
        amqp_url,
        topology,
        admin_token="test-admin-token",
        auth_jwt_secret=SECRET,
        auth_jwks_url=provider.url,
        auth_jwt_audience=AUDIENCE,
        max_running_analyses_per_user=2,
    )


async def create(api: TestClient, session: str, headers: dict[str, str] | None = None, **extra: Any) -> dict:
    body = {
        "session_id": session,
        "primary_username": "fitwithmaya",
        "selected_competitors": ["fit.coach.amy"],
        "content_strategy": STRATEGY,
        **extra,
    }
    resp = await api.post("/api/viral-ideas/queue", json=body, headers=headers or {})
    assert resp.status == 201, await resp.text()
    return (await resp.json())["data"]


async def answer(
    api: TestClient, method: str, path: str, headers: dict[str, str], **kw: Any
) -> tuple[int, str]:
    """Status and error_code (empty on success) of one request; an SSE answer is closed at its head."""
    async with api.request(method, path, headers=headers, **kw) as resp:
        if resp.content_type == "text/event-stream":
            return resp.status, ""
        body = await resp.json()
        return resp.status, body.get("error_code", "")


async def projected(api: TestClient, session: str, **expected: Any) -> dict:
    async def check() -> dict | None:
        resp = await api.get(f"/api/viral-ideas/queue/{session}", headers=ADMIN)
        data = (await resp.json()).get("data", {})
        return data if all(data.get(k) == v for k, v in expected.items()) else None

    return await infra.eventually(check, timeout_s=20, message=f"{session} shows {expected}")


async def in_read_model(api: TestClient, queue_id: str, status: str) -> None:
    """The projector shows the job with this status (the status endpoint may answer from the stream)."""

    async def check() -> bool:
        resp = await api.get("/api/viral-ideas/queue-status", headers=ADMIN)
        items = (await resp.json())["data"]["recent_items"]
        return any(item["id"] == queue_id and item["status"] == status for item in items)

    await infra.eventually(check, timeout_s=20, message=f"{queue_id} {status} in the read model")


def reads(job: dict) -> list[tuple[str, str, dict[str, Any]]]:
    queue_id, session = job["id"], job["session_id"]
    return [
        ("GET", f"/api/viral-ideas/queue/{session}", {}),
        ("GET", f"/api/viral-ideas/queue/{session}/events", {}),
        ("GET", f"/api/viral-analysis/{queue_id}/results", {}),
        ("GET", f"/api/viral-analysis/{queue_id}/content", {}),
        ("GET", f"/api/viral-ideas/queue/{queue_id}/runs", {}),
        ("POST", f"/api/viral-ideas/queue/{queue_id}/start", {}),
    ]


def commands(job: dict) -> list[tuple[str, str, dict[str, Any]]]:
    queue_id = job["id"]
    return [
        ("POST", f"/api/viral-ideas/queue/{queue_id}/cancel", {}),
        ("POST", f"/api/viral-ideas/queue/{queue_id}/rerun", {}),
        ("PATCH", f"/api/viral-ideas/queue/{queue_id}", {"json": {"rerun_frequency_hours": 48}}),
    ]


async def test_an_owned_job_answers_its_owner_and_admins_and_is_not_found_for_anyone_else(
    api: TestClient,
) -> None:
    job = await create(api, "owned-1", ALICE)
    # What the owner gets: the job (read-your-writes: before the projector shows it), no results yet.
    owner_answers = [200, 200, 404, 404, 200, 200]
    owner_codes = ["", "", "RESULTS_NOT_FOUND", "CONTENT_NOT_FOUND", "", ""]
    for (method, path, kw), status, code in zip(reads(job), owner_answers, owner_codes, strict=True):
        for owner in (ALICE, ALICE_RS256, ADMIN):
            assert await answer(api, method, path, owner, **kw) == (status, code), (path, owner)
        for stranger in (BOB, {}):
            assert await answer(api, method, path, stranger, **kw) == (404, "QUEUE_NOT_FOUND"), path
        for code_expected, tokens in BAD_TOKENS.items():
            for token in tokens:
                assert await answer(api, method, path, token, **kw) == (401, code_expected), path
    for method, path, kw in commands(job):
        for stranger in (BOB, {}):
            assert await answer(api, method, path, stranger, **kw) == (404, "QUEUE_NOT_FOUND"), path
        for code_expected, tokens in BAD_TOKENS.items():
            assert await answer(api, method, path, tokens[0], **kw) == (401, code_expected), path
    # Nothing a stranger sent changed the job; the owner's commands do.
    assert (await projected(api, "owned-1", status="pending"))["rerun_frequency_hours"] == 24
    cancel, rerun, patch = commands(job)
    assert await answer(api, cancel[0], cancel[1], ALICE) == (200, "")
    assert await answer(api, rerun[0], rerun[1], ALICE_RS256) == (200, "")
    assert await answer(api, rerun[0], rerun[1], ALICE) == (409, "ALREADY_PROCESSING")
    assert await answer(api, patch[0], patch[1], ADMIN, **patch[2]) == (200, "")
    await projected(api, "owned-1", status="pending", rerun_frequency_hours=48)
    # The SSE stream takes the token from the query too (a browser's EventSource sends no headers).
    events = f"/api/viral-ideas/queue/{job['session_id']}/events"
    alice_token = ALICE["Authorization"].split()[1]
    bob_token = BOB["Authorization"].split()[1]
    assert await answer(api, "GET", f"{events}?access_token={alice_token}", {}) == (200, "")
    assert await answer(api, "GET", f"{events}?access_token={bob_token}", {}) == (404, "QUEUE_NOT_FOUND")
    assert await answer(api, "GET", f"{events}?access_token=garbage", {}) == (401, "INVALID_TOKEN")
    # The query token is for the live stream alone.
    status_path = f"/api/viral-ideas/queue/{job['session_id']}?access_token={alice_token}"
    assert await answer(api, "GET", status_path, {}) == (404, "QUEUE_NOT_FOUND")


async def test_lists_show_the_callers_own_jobs_and_an_anonymous_caller_no_ids(api: TestClient) -> None:
    alice_job = await create(api, "list-alice", ALICE)
    bob_job = await create(api, "list-bob", BOB, primary_username="gym.bro.max")
    await in_read_model(api, alice_job["id"], "pending")
    await in_read_model(api, bob_job["id"], "pending")

    async def recent(headers: dict[str, str]) -> set[str]:
        resp = await api.get("/api/viral-ideas/queue-status", headers=headers)
        data = (await resp.json())["data"]
        assert data["statistics"]["pending"] == 2  # the counts are everyone's: they carry no ids
        return {item["id"] for item in data["recent_items"]}

    assert await recent(ALICE) == {alice_job["id"]}
    assert await recent(BOB) == {bob_job["id"]}
    assert await recent(ADMIN) == {alice_job["id"], bob_job["id"]}
    assert await recent({}) == set()

    path = "/api/viral-ideas/check-existing/fitwithmaya"
    found = await (await api.get(path, headers=ALICE)).json()
    assert found["data"]["queue_id"] == alice_job["id"] and found["data"]["kind"] == "active"
    assert (await api.get(path, headers=ADMIN)).status == 200
    for stranger in (BOB, {}):  # no anonymous job of this profile either
        resp = await api.get(path, headers=stranger)
        assert resp.status == 404 and (await resp.json())["error_code"] == "ANALYSIS_NOT_FOUND"


async def test_an_anonymous_job_works_for_whoever_holds_its_ids_and_is_never_listed(
    api: TestClient, pool: asyncpg.Pool
) -> None:
    job = await create(api, "anonymous-1")  # as seed 001's scripts do: no credential at all
    resp = await api.get("/api/viral-ideas/queue/anonymous-1")
    assert resp.status == 200 and (await resp.json())["data"]["id"] == job["id"]
    resp = await api.get("/api/viral-ideas/queue/anonymous-1", headers=BOB)  # the ids are the key
    assert resp.status == 200
    await in_read_model(api, job["id"], "pending")
    status = await (await api.get("/api/viral-ideas/queue-status")).json()
    assert status["data"]["recent_items"] == [] and status["data"]["statistics"]["pending"] == 1
    found = (await (await api.get("/api/viral-ideas/check-existing/fitwithmaya")).json())["data"]
    assert found["exists"] is True and found["kind"] == "active"
    assert "queue_id" not in found and "session_id" not in found
    resp = await api.get("/api/viral-ideas/check-existing/fitwithmaya", headers=ALICE)
    assert resp.status == 404  # a user's own lists hold their own jobs only
    resp = await api.post(f"/api/viral-ideas/queue/{job['id']}/cancel")
    assert resp.status == 200
    payload = await pool.fetchval(
        "SELECT payload FROM eventstore.events WHERE stream_id = $1 AND event_type = 'AnalysisRequested'",
        f"analysis-{job['id']}",
    )
    assert payload["user_id"] is None


async def test_owner_changes_and_reruns_are_events_with_the_user_and_runs_list_them(
    api: TestClient, pool: asyncpg.Pool
) -> None:
    job = await create(api, "rerun-1", ALICE)
    queue_id = job["id"]
    resp = await api.post(f"/api/viral-ideas/queue/{queue_id}/rerun", headers=ALICE)
    assert resp.status == 409 and "queued" in (await resp.json())["detail"]
    assert (await api.post(f"/api/viral-ideas/queue/{queue_id}/cancel", headers=ALICE)).status == 200
    change = {
        "selected_competitors": ["yoga.with.lin", "FitWithMaya", "run.fast.kai"],
        "content_strategy": {**STRATEGY, "goals": "Sell a coaching program"},
        "auto_rerun_enabled": False,
    }
    resp = await api.patch(f"/api/viral-ideas/queue/{queue_id}", json=change, headers=ALICE)
    assert resp.status == 200, await resp.text()
    changed = (await resp.json())["data"]
    assert changed["changed"] == ["auto_rerun_enabled", "content_strategy", "selected_competitors"]
    assert changed["selected_competitors"] == ["yoga.with.lin", "run.fast.kai"]  # never the primary
    # The same change again is no change: nothing is appended.
    again = await api.patch(f"/api/viral-ideas/queue/{queue_id}", json=change, headers=ALICE)
    assert (await again.json())["data"]["changed"] == []
    for bad in ({}, {"rerun_frequency_hours": 0}, {"selected_competitors": ["bad name!"]}, {"priority": 1}):
        resp = await api.patch(f"/api/viral-ideas/queue/{queue_id}", json=bad, headers=ALICE)
        assert resp.status == 422, bad
    # The first run never started: the re-run is run 1 (run numbers count the runs that start).
    resp = await api.post(f"/api/viral-ideas/queue/{queue_id}/rerun", headers=ALICE)
    assert resp.status == 200 and (await resp.json())["data"]["run"] == 1

    status = await projected(api, "rerun-1", status="pending", auto_rerun_enabled=False)
    assert status["competitors"] == ["yoga.with.lin", "run.fast.kai"]
    assert status["main_goals"] == "Sell a coaching program"
    rows = await pool.fetch(
        "SELECT event_type, payload FROM eventstore.events WHERE stream_id = $1 ORDER BY stream_version",
        f"analysis-{queue_id}",
    )
    assert [(r["event_type"], r["payload"]["user_id"]) for r in rows] == [
        ("AnalysisRequested", "alice"),
        ("AnalysisCancelled", "alice"),
        ("AnalysisUpdated", "alice"),
        ("AnalysisTriggered", "alice"),
    ]

    async def runs() -> list[dict] | None:
        resp = await api.get(f"/api/viral-ideas/queue/{queue_id}/runs", headers=ALICE)
        found = (await resp.json())["data"]["runs"]
        return found if found and found[0]["trigger"] == "rerun" else None

    listed = await infra.eventually(runs, timeout_s=20, message="the re-run listed")
    assert [(r["run"], r["trigger"], r["outcome"], r["requested_by"]) for r in listed] == [
        (1, "rerun", "queued", "alice")
    ]
    assert (await api.post(f"/api/viral-ideas/queue/{queue_id}/cancel", headers=ADMIN)).status == 200

    async def cancelled() -> dict | None:
        resp = await api.get(f"/api/viral-ideas/queue/{queue_id}/runs", headers=ADMIN)
        run = (await resp.json())["data"]["runs"][0]
        return run if run["outcome"] == "cancelled" else None

    run = await infra.eventually(cancelled, timeout_s=20, message="the re-run cancelled")
    assert run["finished_at"] is not None and run["started_at"] is None


async def test_a_user_may_have_two_analyses_running_at_once(api: TestClient) -> None:
    # Five at the same moment, on connections of their own: the user's lock lets exactly two through.
    answers = await asyncio.gather(
        *(
            api.post(
                "/api/viral-ideas/queue",
                json={
                    "session_id": f"cap-{i}",
                    "primary_username": "fitwithmaya",
                    "content_strategy": STRATEGY,
                },
                headers=ALICE,
            )
            for i in range(5)
        )
    )
    statuses = sorted(r.status for r in answers)
    assert statuses == [201, 201, 429, 429, 429]
    refused = next(r for r in answers if r.status == 429)
    assert (await refused.json())["error_code"] == "TOO_MANY_RUNNING" and refused.headers["Retry-After"]
    # Another user, an anonymous caller and an administrator are not held by Alice's cap.
    await create(api, "cap-bob", BOB)
    await create(api, "cap-anonymous")
    await create(api, "cap-admin", ADMIN)
    first = (await next(r for r in answers if r.status == 201).json())["data"]
    assert (await api.post(f"/api/viral-ideas/queue/{first['id']}/cancel", headers=ALICE)).status == 200
    # Once the projector shows the cancel, Alice has room for one more.
    await in_read_model(api, first["id"], "cancelled")
    await create(api, "cap-after", ALICE)
    resp = await api.post(
        "/api/viral-ideas/queue",
        json={"session_id": "cap-full", "primary_username": "fitwithmaya", "content_strategy": STRATEGY},
        headers=ALICE,
    )
    assert resp.status == 429


@pytest.mark.usefixtures("analysis")
async def test_the_owners_change_is_what_the_next_run_analyses(api: TestClient) -> None:
    job = await create(api, "next-run", ALICE, selected_competitors=["fit.coach.amy", "gym.bro.max"])
    queue_id = job["id"]
    await in_read_model(api, queue_id, "completed")
    change = {"selected_competitors": ["yoga.with.lin"], "content_strategy": {**STRATEGY, "goals": "Sell"}}
    resp = await api.patch(f"/api/viral-ideas/queue/{queue_id}", json=change, headers=ALICE)
    assert resp.status == 200
    assert (await api.post(f"/api/viral-ideas/queue/{queue_id}/rerun", headers=BOB)).status == 404
    resp = await api.post(f"/api/viral-ideas/queue/{queue_id}/rerun", headers=ALICE)
    assert resp.status == 200 and (await resp.json())["data"]["run"] == 2

    async def second_run() -> dict | None:
        resp = await api.get(f"/api/viral-analysis/{queue_id}/results", headers=ALICE)
        data = (await resp.json()).get("data") or {}
        return data if data.get("analysis", {}).get("run") == 2 else None

    results = await infra.eventually(second_run, timeout_s=60, message="run 2's results")
    competitors = {r["username"] for r in results["analyzed_reels"] if r["reel_type"] == "competitor"}
    assert competitors == {"yoga.with.lin"}
    assert results["analysis"]["analysis_type"] == "manual_rerun"
    resp = await api.get(f"/api/viral-analysis/{queue_id}/results?run=1", headers=BOB)
    assert resp.status == 404 and (await resp.json())["error_code"] == "QUEUE_NOT_FOUND"
    runs = (await (await api.get(f"/api/viral-ideas/queue/{queue_id}/runs", headers=ALICE)).json())["data"]
    assert [(r["run"], r["trigger"], r["outcome"]) for r in runs["runs"]] == [
        (2, "rerun", "completed"),
        (1, "initial", "completed"),
    ]
    assert all(r["processing_time_seconds"] >= 0 and r["started_at"] for r in runs["runs"])
