"""A gateway for the fuzzer: its own database and names, the projector running, and a little data for
the contract's examples (`fitwithmaya`, `demo-1`) to find."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from libs.events import EventStore, NewEvent, Topology
from libs.events.catalog import ProfileIngested, profile_stream
from libs.runtime import ServiceRuntime
from services.gateway.settings import GatewaySettings
from tests.conftest import TEST_RETRY, make_settings
from tests.support import infra
from tests.support.background_gateway import BackgroundGateway

ADMIN_TOKEN = "fuzz-admin-token"
REPORT = Path(
    os.environ.get("FUZZ_REPORT", Path(__file__).resolve().parents[2] / "test-output/fuzz/report.json")
)
EXAMPLE_PROFILE = {
    "username": "fitwithmaya",
    "request_id": "00000001",
    "attempts": 1,
    "duration_ms": 10,
    "profile": {
        "username": "fitwithmaya",
        "profile_name": "Maya",
        "followers": 52_000,
        "median_views": 35_000.0,
    },
    "reels": [
        {
            "content_id": "3301",
            "shortcode": "Zml0d2l0aG1heWE6MQ",
            "url": "https://www.instagram.com/reel/Zml0d2l0aG1heWE6MQ/",
            "view_count": 120_000,
            "like_count": 5400,
            "outlier_score": 3.4,
            "date_posted": "2024-01-15T10:30:00Z",
        }
    ],
    "similar": [{"username": "glow.mia", "followers": 81_000}],
}
EXAMPLE_JOB = {
    "session_id": "demo-1",
    "primary_username": "fitwithmaya",
    "selected_competitors": ["glow.mia"],
    "content_strategy": {
        "contentType": "Home workouts",
        "targetAudience": "Busy parents",
        "goals": "Sell coaching",
    },
}


async def seed_examples(base_url: str, gateway: ServiceRuntime) -> None:
    """A fetched profile and a finished (cancelled) job: no worker runs here, and a job left pending
    would keep its live stream open for ever."""
    assert gateway.pool is not None
    async with gateway.pool.acquire() as conn:
        event = ProfileIngested.model_validate(EXAMPLE_PROFILE)
        await EventStore(producer="profile-ingest").append(
            conn, profile_stream("fitwithmaya"), [NewEvent(event=event)], expected_version=None
        )
    async with aiohttp.ClientSession(base_url) as http:
        async with http.post("/api/viral-ideas/queue", json=EXAMPLE_JOB) as resp:
            assert resp.status == 201, await resp.text()
            queue_id = (await resp.json())["data"]["id"]
        async with http.post(f"/api/viral-ideas/queue/{queue_id}/cancel") as resp:
            assert resp.status == 200, await resp.text()

        async def projected() -> bool:
            async with (
                http.get("/api/viral-ideas/queue/demo-1") as job,
                http.get("/api/profile/fitwithmaya") as p,
            ):
                return (
                    job.status == 200
                    and (await job.json())["data"]["status"] == "cancelled"
                    and p.status == 200
                )

        await infra.eventually(projected, timeout_s=30, message="the examples projected")


@pytest.fixture(scope="session")
def fuzz_gateway(template_db: str, amqp_url: str) -> Iterator[BackgroundGateway]:
    name = infra.unique("vs_t")
    database_url = asyncio.run(infra.create_database(name, template=template_db))
    topology = Topology(namespace=infra.unique("fz"), retry=TEST_RETRY)
    settings = make_settings(
        GatewaySettings,
        database_url,
        amqp_url,
        topology,
        admin_token=ADMIN_TOKEN,
        # The development sign-in on, so its operation is fuzzed rather than only found missing.
        auth_dev_login=True,
        auth_jwt_secret="fuzz-jwt-secret-long-enough-for-hs256",
        # Hundreds of valid requests from one address: the limits (tests/e2e/test_rate_limits.py) would
        # refuse most of them, leaving their bodies untried.
        rate_limit_analyses=None,
        rate_limit_reruns=None,
        rate_limit_profiles=None,
        # No worker fetches here: the competitor picker's calls answer 202 after this wait.
        picker_wait_s=0.1,
    )
    try:
        with BackgroundGateway(settings, seed=seed_examples) as gateway:
            yield gateway
    finally:
        asyncio.run(infra.drop_database(name))


class FuzzReport:
    """What the fuzzer tried per operation (cases by generation mode and status) and what it found."""

    def __init__(self) -> None:
        self.operations: dict[str, dict[str, Any]] = {}

    def case(self, operation: str, mode: str, status: int | None) -> None:
        entry = self._entry(operation)
        entry["cases"] += 1
        entry["by_mode"][mode] = entry["by_mode"].get(mode, 0) + 1
        entry["statuses"][str(status)] = entry["statuses"].get(str(status), 0) + 1

    def failure(self, operation: str, message: str) -> None:
        failures = self._entry(operation)["failures"]
        if message not in failures:
            failures.append(message)

    def _entry(self, operation: str) -> dict[str, Any]:
        return self.operations.setdefault(
            operation, {"cases": 0, "by_mode": {}, "statuses": {}, "failures": []}
        )

    def write(self, path: Path, settings: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        summary = {
            "settings": settings,
            "cases": sum(op["cases"] for op in self.operations.values()),
            "failures": sum(len(op["failures"]) for op in self.operations.values()),
            "operations": dict(sorted(self.operations.items())),
        }
        path.write_text(json.dumps(summary, indent=2) + "\n")
