"""Rate limits held across replicas: two real gateway processes on one database share each caller's
bucket, answer 429 RATE_LIMITED with a Retry-After that is honoured, keep users apart from the
anonymous address bucket, and never limit the administrator."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.support import infra
from tests.support.processes import ServiceProcess
from tests.support.tokens import SECRET, claims, hs256

ADMIN_TOKEN = "test-admin-token"


@pytest.fixture
async def replicas(service_env: dict[str, str], output_dir: Path) -> AsyncIterator[list[str]]:
    """Two gateways: 3 profile requests per caller, refilled over 4 seconds; 2 analyses an hour."""
    processes, urls = [], []
    try:
        for i in range(2):
            port = infra.free_port()
            env = {
                **service_env,
                "GATEWAY_PORT": str(port),
                "ADMIN_TOKEN": ADMIN_TOKEN,
                "AUTH_JWT_SECRET": SECRET,
                "RATE_LIMIT_PROFILES": "3/4",
                "RATE_LIMIT_ANALYSES": "2/3600",
            }
            processes.append(ServiceProcess("services.gateway", env, output_dir / f"gateway-{i}.log").start())
            urls.append(f"http://127.0.0.1:{port}")
        for process, url in zip(processes, urls, strict=True):
            await process.wait_ready(f"{url}/readyz")
        yield urls
    finally:
        for process in processes:
            process.kill(signal.SIGTERM)
        for process in processes:
            await process.wait_exit()


async def test_two_replicas_share_one_bucket_per_caller_and_retry_after_is_honoured(
    replicas: list[str],
) -> None:
    async with aiohttp.ClientSession() as http:

        async def request(
            i: int, username: str, headers: dict[str, str] | None = None
        ) -> aiohttp.ClientResponse:
            url = f"{replicas[i % 2]}/api/profile/{username}/request"  # alternating replicas
            async with http.post(url, headers=headers or {}) as resp:
                await resp.read()
                return resp

        answers = [await request(i, f"creator.{i}") for i in range(4)]
        assert [r.status for r in answers] == [200, 200, 200, 429]
        refused = answers[3]
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= 2  # one token comes back every 4/3 s
        # A signed-in user has a bucket of their own, and the administrator none at all.
        alice = {"Authorization": f"Bearer {hs256(claims('alice'))}"}
        assert [(await request(i, f"alice.{i}", alice)).status for i in range(4)] == [200, 200, 200, 429]
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert {(await request(i, f"admin.{i}", admin)).status for i in range(6)} == {200}
        # Still refused on either replica until the wait is over; then served again.
        assert (await request(0, "anonymous.again")).status == 429
        assert (await request(1, "anonymous.again")).status == 429
        await asyncio.sleep(retry_after)
        assert (await request(0, "anonymous.again")).status == 200


async def test_analysis_creations_are_limited_per_caller_with_the_error_body(replicas: list[str]) -> None:
    strategy = {"contentType": "Workouts", "targetAudience": "Parents", "goals": "Grow"}
    async with aiohttp.ClientSession() as http:
        statuses, body, headers = [], {}, {}
        for i in range(3):
            job = {
                "session_id": f"limited-{i}",
                "primary_username": "fitwithmaya",
                "content_strategy": strategy,
            }
            async with http.post(f"{replicas[i % 2]}/api/viral-ideas/queue", json=job) as resp:
                statuses.append(resp.status)
                body, headers = await resp.json(), resp.headers
    assert statuses == [201, 201, 429]
    assert body["error_code"] == "RATE_LIMITED" and body["success"] is False
    assert int(headers["Retry-After"]) > 1000  # 2 an hour: the next in half an hour
