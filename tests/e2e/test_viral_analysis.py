"""Viral ideas analysis end to end: gateway, projector, viral-analysis and the simulator over HTTP."""

import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY

from libs.runtime import ServiceRuntime
from services.viral_analysis.__main__ import build as build_analysis
from services.viral_analysis.domain import STEPS
from services.viral_analysis.settings import AnalysisSettings
from tests.conftest import make_settings
from tests.provider.provider_harness import NOW, RunningSimulator
from tests.support import infra
from tests.support.processes import ServiceProcess
from tests.support.runtime import running
from tests.support.shapes import load_shape, shape_problems

ADMIN = {"Authorization": "Bearer test-admin-token"}
STRATEGY = {
    "contentType": "Fitness tips and home workouts",
    "targetAudience": "Busy parents",
    "goals": "Grow followers and sell a coaching program",
}
COMPETITORS = ["fit.coach.amy", "gym.bro.max", "yoga.with.lin", "run.fast.kai", "home.workout.zoe"]


@pytest.fixture
async def sim(start_simulator) -> RunningSimulator:
    return await start_simulator(seed=11)


def analysis_settings(database_url, amqp_url, topology, **extra) -> AnalysisSettings:
    extra = {"analysis_poll_interval_s": 0.1, "analysis_scheduler_interval_s": 0.2, **extra}
    return make_settings(AnalysisSettings, database_url, amqp_url, topology, **extra)


@pytest.fixture
async def analysis(database_url, amqp_url, topology, sim, api) -> AsyncIterator[ServiceRuntime]:
    runtime = build_analysis(analysis_settings(database_url, amqp_url, topology), sim.provider())
    async with running(runtime):
        yield runtime


async def submit(
    api: TestClient, session: str, primary: str = "fitwithmaya", competitors=COMPETITORS, **extra
) -> dict:
    body = {
        "session_id": session,
        "primary_username": primary,
        "selected_competitors": competitors,
        "content_strategy": STRATEGY,
        **extra,
    }
    resp = await api.post("/api/viral-ideas/queue", json=body)
    assert resp.status == 201, await resp.text()
    return (await resp.json())["data"]


async def job(api: TestClient, session: str) -> dict:
    resp = await api.get(f"/api/viral-ideas/queue/{session}")
    return (await resp.json())["data"] if resp.status == 200 else {}


async def wait_job(api: TestClient, session: str, *statuses: str, timeout_s: float = 60) -> dict:
    async def check() -> dict | None:
        data = await job(api, session)
        return data if data.get("status") in statuses else None

    return await infra.eventually(check, timeout_s=timeout_s, message=f"{session} in {statuses}")


async def events_of(pool: asyncpg.Pool, queue_id: str, event_type: str) -> list[dict]:
    rows = await pool.fetch(
        """SELECT payload FROM eventstore.events WHERE stream_id = $1 AND event_type = $2
           ORDER BY stream_version""",
        f"analysis-{queue_id}",
        event_type,
    )
    return [r["payload"] for r in rows]


def runs_ended(outcome: str) -> float:
    """Analysis runs this process ended with `outcome` (the runner's own count)."""
    return REGISTRY.get_sample_value("viralspot_analysis_runs_total", {"outcome": outcome}) or 0


async def test_five_competitor_job_completes_with_monotonic_progress_and_serves_results(
    api: TestClient, analysis, pool
) -> None:
    created = await submit(api, "session-five")
    assert created["status"] == "pending" and created["primary_username"] == "fitwithmaya"
    done = await wait_job(api, "session-five", "completed")
    assert done["progress_percentage"] == 100 and done["current_step"] == "completed"
    assert done["competitors"] == COMPETITORS and done["active_competitors_count"] == 5
    assert {c["processing_status"] for c in done["competitor_details"]} == {"completed"}
    assert done["total_runs"] == 1 and done["can_be_rerun"] is True and done["can_be_cancelled"] is False
    assert done["status_category"] == "success" and done["progress_stage"] == "completed"
    assert done["next_scheduled_run"] is not None and done["processing_duration"] is not None
    assert done["content_type"] == STRATEGY["contentType"] and done["main_goals"] == STRATEGY["goals"]

    progress = await events_of(pool, created["id"], "ProgressUpdated")
    steps = [p["step"] for p in progress]
    assert steps == [s for s, _ in STEPS if s != "queued"]
    values = [p["progress"] for p in progress]
    assert values == sorted(values) and values[-1] == 100

    resp = await api.get(f"/api/viral-analysis/{created['id']}/results")
    results = (await resp.json())["data"]
    assert results["analysis"]["run"] == 1 and results["analysis"]["status"] == "completed"
    assert results["analysis"]["workflow_version"]
    assert len(results["generated_hooks"]) == 5 and len(results["complete_scripts"]) == 5
    for section in ("profile_analysis", "individual_reel_analyses", "scripts_summary", "analysis_summary"):
        assert results[section], section
    # A frontend written for the original's results response finds every field it read, typed as it was.
    assert shape_problems(results, load_shape("original_results_shape.json")) == []
    # The profile analysis read every fetched reel of the creator, not only the transcribed ones.
    primary_reels = [r for r in results["analyzed_reels"] if r["reel_type"] == "primary"]
    assert results["profile_analysis"]["content_analysis"]["reels_analyzed"] == len(primary_reels) > 3
    assert results["primary_profile"]["username"] == "fitwithmaya"
    assert len(results["viral_ideas"]) == 5
    competitor_reels = [r for r in results["analyzed_reels"] if r["reel_type"] == "competitor"]
    assert {r["username"] for r in competitor_reels} == set(COMPETITORS)

    resp = await api.get(f"/api/viral-analysis/{created['id']}/content?content_type=competitor&limit=200")
    content = (await resp.json())["data"]
    assert content["total"] == len(competitor_reels)
    scores = [r["outlier_score"] for r in content["content"]]
    assert scores == sorted(scores, reverse=True)
    assert any(r["transcript"] for r in content["content"])

    check = "/api/viral-ideas/check-existing/fitwithmaya"
    existing = (await (await api.get(check, headers=ADMIN)).json())["data"]
    assert existing["kind"] == "completed" and existing["queue_id"] == created["id"]
    # An anonymous job's ids are its creator's alone: an anonymous caller learns it exists, not its ids.
    anonymous = (await (await api.get(check)).json())["data"]
    assert anonymous["kind"] == "completed" and "queue_id" not in anonymous
    stats = (await (await api.get("/api/viral-ideas/queue-status")).json())["data"]
    assert stats["statistics"]["completed"] >= 1 and stats["background_processing"]["completed_last_24h"] >= 1
    # the fetched content serves everyone (dual storage)
    profile = await api.get("/api/profile/fit.coach.amy")
    assert profile.status == 200


async def test_missing_competitor_fails_alone(api: TestClient, analysis) -> None:
    await submit(api, "session-missing-comp", competitors=["fit.coach.amy", "missing_ghost"])
    done = await wait_job(api, "session-missing-comp", "completed", "failed")
    assert done["status"] == "completed"
    details = {c["username"]: c for c in done["competitor_details"]}
    assert details["fit.coach.amy"]["processing_status"] == "completed"
    assert details["missing_ghost"]["processing_status"] == "failed"
    assert "not found" in details["missing_ghost"]["error_message"]


async def test_missing_primary_fails_the_job_with_a_clear_message(api: TestClient, analysis) -> None:
    await submit(api, "session-missing-primary", primary="missing_creator", competitors=["fit.coach.amy"])
    failed = await wait_job(api, "session-missing-primary", "failed")
    assert failed["error_message"] == "Primary account 'missing_creator' was not found on Instagram."
    assert failed["status_category"] == "error" and failed["can_be_rerun"] is True


async def test_process_refuses_a_running_job_and_reruns_a_completed_one(
    api: TestClient, analysis, sim, pool
) -> None:
    await sim.control("config", {"latency_ms": 150})
    created = await submit(api, "session-process", competitors=COMPETITORS[:2])
    await wait_job(api, "session-process", "processing")
    resp = await api.post(f"/api/viral-ideas/queue/{created['id']}/process", headers=ADMIN)
    assert resp.status == 409 and (await resp.json())["error_code"] == "ALREADY_PROCESSING"
    await wait_job(api, "session-process", "completed")
    await sim.control("config", {"latency_ms": 0})
    resp = await api.post(f"/api/viral-ideas/queue/{created['id']}/process", headers=ADMIN)
    body = await resp.json()
    # What is true when the answer leaves: the run is queued, first among the manual runs, and its
    # estimate is the measured run 1 (seconds here: a minute, rounded up).
    immediate, estimate = body["data"]["immediate_processing"], body["data"]["estimated_completion"]
    assert resp.status == 200 and immediate["status"] == "queued_for_immediate_processing"
    assert immediate["queue_position"] == 1 and immediate["run"] == 2
    assert estimate["measured_runs_last_24h"] == 1 and estimate["min_duration_minutes"] == 1
    assert body["data"]["processing_details"]["competitors_count"] == 2

    async def second_run() -> dict | None:
        resp = await api.get(f"/api/viral-analysis/{created['id']}/results?run=2")
        return (await resp.json())["data"] if resp.status == 200 else None

    run2 = await infra.eventually(second_run, timeout_s=60, message="run 2 completed and projected")
    assert run2["analysis"]["run"] == 2
    run1 = (await (await api.get(f"/api/viral-analysis/{created['id']}/results?run=1")).json())["data"]
    assert run1["analysis"]["run"] == 1
    done = await wait_job(api, "session-process", "completed")
    assert done["total_runs"] == 2


async def test_admin_endpoints_refuse_missing_or_wrong_tokens(api: TestClient) -> None:
    created = await submit(api, "session-admin", competitors=[])
    for path in (f"/api/viral-ideas/queue/{created['id']}/process", "/api/viral-ideas/process-pending"):
        resp = await api.post(path)
        assert resp.status == 401 and (await resp.json())["error_code"] == "UNAUTHORIZED"
        resp = await api.post(path, headers={"Authorization": "Bearer wrong"})
        assert resp.status == 403 and (await resp.json())["error_code"] == "FORBIDDEN"
    resp = await api.post("/api/viral-ideas/process-pending", headers=ADMIN)
    assert resp.status == 200 and (await resp.json())["data"]["status"] == "started"


async def test_cancel_pending_then_not_cancellable(api: TestClient) -> None:
    created = await submit(api, "session-cancel", competitors=[])
    resp = await api.post(f"/api/viral-ideas/queue/{created['id']}/cancel")
    assert resp.status == 200 and (await resp.json())["data"]["status"] == "cancelled"
    resp = await api.post(f"/api/viral-ideas/queue/{created['id']}/cancel")
    assert resp.status == 409 and (await resp.json())["error_code"] == "NOT_CANCELLABLE"
    cancelled = await wait_job(api, "session-cancel", "cancelled")
    assert cancelled["can_be_cancelled"] is False
    resp = await api.post(f"/api/viral-ideas/queue/{created['id']}/start")
    assert (await resp.json())["data"] == {"queue_id": created["id"], "status": "cancelled"}


async def test_running_job_is_cancelled_at_its_next_step(api: TestClient, analysis, sim, pool) -> None:
    await sim.control("config", {"latency_ms": 200})
    aborted_before = runs_ended("aborted")
    created = await submit(api, "session-cancel-running", competitors=COMPETITORS[:2])
    await wait_job(api, "session-cancel-running", "processing")
    resp = await api.post(f"/api/viral-ideas/queue/{created['id']}/cancel")
    assert resp.status == 200
    await wait_job(api, "session-cancel-running", "cancelled")

    async def run_ended() -> bool:
        return runs_ended("aborted") > aborted_before

    # The worker's run is over (counted as aborted): nothing of it is left to write a result.
    await infra.eventually(run_ended, message="the cancelled run stopped")
    assert await events_of(pool, created["id"], "AnalysisCompleted") == []
    assert await pool.fetchval(
        "SELECT status FROM analysis.jobs WHERE queue_id = $1::uuid", created["id"]
    ) == ("cancelled")


@pytest.mark.parametrize(
    ("body", "code", "error_code"),
    [
        (b"{nope", 400, "INVALID_JSON"),
        (b"[]", 400, "INVALID_JSON"),
        (b'{"session_id": "s"}', 422, "VALIDATION_ERROR"),
        (
            b'{"session_id": "  ", "primary_username": "a", "content_strategy": '
            b'{"contentType": "x", "targetAudience": "y", "goals": "z"}}',
            422,
            "VALIDATION_ERROR",
        ),
        (
            b'{"session_id": "s", "primary_username": "bad name", "content_strategy": '
            b'{"contentType": "x", "targetAudience": "y", "goals": "z"}}',
            422,
            "VALIDATION_ERROR",
        ),
        (
            b'{"session_id": "s", "primary_username": "a", "priority": 11, "content_strategy": '
            b'{"contentType": "x", "targetAudience": "y", "goals": "z"}}',
            422,
            "VALIDATION_ERROR",
        ),
        (
            b'{"session_id": "s", "primary_username": "a", "selected_competitors": '
            + b"["
            + b",".join(b'"c%d"' % i for i in range(16))
            + b'], "content_strategy": '
            b'{"contentType": "x", "targetAudience": "y", "goals": "z"}}',
            422,
            "VALIDATION_ERROR",
        ),
        (
            b'{"session_id": "s", "primary_username": "a", "content_strategy": '
            b'{"contentType": "' + b"x" * 501 + b'", "targetAudience": "y", "goals": "z"}}',
            422,
            "VALIDATION_ERROR",
        ),
        (b'{"pad": "' + b"x" * (65 * 1024) + b'"}', 413, "PAYLOAD_TOO_LARGE"),
    ],
)
async def test_bad_job_bodies_get_the_documented_4xx(
    api: TestClient, body: bytes, code: int, error_code: str
) -> None:
    resp = await api.post("/api/viral-ideas/queue", data=body, headers={"Content-Type": "application/json"})
    answer = await resp.json()
    assert resp.status == code and answer["error_code"] == error_code, answer


async def test_session_ids_and_queue_ids_are_checked(api: TestClient) -> None:
    created = await submit(api, "session-dup", competitors=["@Fit.Coach.Amy", "fit.coach.amy", "fitwithmaya"])
    resp = await api.post(
        "/api/viral-ideas/queue",
        json={"session_id": "session-dup", "primary_username": "x", "content_strategy": STRATEGY},
    )
    assert resp.status == 409 and (await resp.json())["error_code"] == "SESSION_EXISTS"
    status = await wait_job(api, "session-dup", "pending")
    assert status["competitors"] == ["fit.coach.amy"]  # de-duplicated, primary excluded
    assert (await api.get("/api/viral-ideas/queue/" + "s" * 256)).status == 400
    resp = await api.get("/api/viral-ideas/queue/unknown-session")
    assert resp.status == 404 and (await resp.json())["error_code"] == "QUEUE_NOT_FOUND"
    resp = await api.post("/api/viral-ideas/queue/not-a-uuid/process", headers=ADMIN)
    assert resp.status == 400 and (await resp.json())["error_code"] == "INVALID_UUID_FORMAT"
    resp = await api.post(
        "/api/viral-ideas/queue/00000000-0000-4000-8000-000000000000/process", headers=ADMIN
    )
    assert resp.status == 404 and (await resp.json())["error_code"] == "QUEUE_NOT_FOUND"
    resp = await api.get(f"/api/viral-analysis/{created['id']}/results")
    assert resp.status == 404
    resp = await api.get("/api/viral-ideas/check-existing/nobody_at_all")
    assert resp.status == 404


async def test_scheduler_reruns_a_job_whose_rerun_time_passed_on_recent_reels_only(
    api: TestClient, sim, pool, database_url, amqp_url, topology
) -> None:
    # The simulator's clock stands at NOW: look back far enough to keep its last two months.
    cutoff = NOW - timedelta(days=60)
    lookback = (datetime.now(UTC) - cutoff).days
    settings = analysis_settings(database_url, amqp_url, topology, rerun_lookback_days=lookback)
    async with running(build_analysis(settings, sim.provider())):
        created = await submit(api, "session-rerun", competitors=COMPETITORS[:2], rerun_frequency_hours=1)
        await wait_job(api, "session-rerun", "completed")
        # An hour passes: the service's own schedule says the re-run is due.
        await pool.execute("UPDATE analysis.jobs SET next_scheduled_run = now() - interval '1 second'")

        async def rerun_done() -> list | None:
            done = await events_of(pool, created["id"], "AnalysisCompleted")
            return done if len(done) == 2 else None

        completed = await infra.eventually(rerun_done, timeout_s=60, message="scheduled re-run completed")
    triggers = await events_of(pool, created["id"], "AnalysisTriggered")
    assert [t["trigger"] for t in triggers] == ["schedule"]
    assert completed[1]["result"]["analysis_type"] == "recurring"
    fetched = [
        f for f in await events_of(pool, created["id"], "ContentFetched") if f["profile_type"] == "competitor"
    ]
    first = [r for f in fetched if f["run"] == 1 for r in f["reels"]]
    recent = [r for f in fetched if f["run"] == 2 for r in f["reels"]]
    assert 0 < len(recent) < len(first), "the re-run fetched only the competitors' recent reels"
    horizon = datetime.now(UTC) - timedelta(days=lookback)
    assert all(datetime.fromisoformat(r["date_posted"]) >= horizon for r in recent)


@pytest.mark.slow
async def test_worker_killed_mid_run_restarts_it_and_stores_one_result(
    api: TestClient, sim, pool, service_env: dict[str, str], output_dir: Path
) -> None:
    await sim.control("config", {"latency_ms": 150})
    created = await submit(api, "session-kill", competitors=COMPETITORS[:3])
    env = {
        **service_env,
        "OPS_PORT": str(infra.free_port()),
        "ANALYSIS_LEASE_S": "2",
        "ANALYSIS_POLL_INTERVAL_S": "0.2",
        **sim.provider_env(),
    }
    log = output_dir / "analysis.log"
    first = ServiceProcess("services.viral_analysis", env, log).start()

    async def mid_run() -> bool:
        return (await job(api, "session-kill")).get("progress_percentage", 0) >= 25

    await infra.eventually(mid_run, timeout_s=60, message="run under way")
    first.kill(signal.SIGKILL)
    await first.wait_exit()
    second = ServiceProcess("services.viral_analysis", env, log).start()
    try:
        await wait_job(api, "session-kill", "completed", timeout_s=90)
    finally:
        second.kill(signal.SIGTERM)
        await second.wait_exit()
    assert len(await events_of(pool, created["id"], "AnalysisCompleted")) == 1
    assert [s["run"] for s in await events_of(pool, created["id"], "AnalysisStarted")] == [1, 1]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM readmodel.viral_analysis_results WHERE queue_id = $1::uuid", created["id"]
        )
        == 1
    )
