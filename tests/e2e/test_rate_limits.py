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
    processes: list[ServiceProcess] = []
    urls: list[str] = []
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
        # Stopped before the test's database is dropped, whatever happened; killed if SIGTERM hangs.
        for process in processes:
            process.kill(signal.SIGTERM)
        for process in processes:
            try:
                await process.wait_exit(timeout_s=15)
            except TimeoutError:
                process.kill(signal.SIGKILL)
                await process.wait_exit()


Answer = tuple[int, dict[str, str]]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_two_replicas_share_one_bucket_per_caller_and_retry_after_is_honoured(
    replicas: list[str],
) -> None:
    async with aiohttp.ClientSession() as http:

        async def request(i: int, username: str, headers: dict[str, str] | None = None) -> Answer:
            url = f"{replicas[i % 2]}/api/profile/{username}/request"  # replica i % 2
            async with http.post(url, headers=headers or {}) as resp:
                body = await resp.json()
                if resp.status == 429:
                    assert body["error_code"] == "RATE_LIMITED" and body["troubleshooting"], body
                return resp.status, dict(resp.headers)

        # Alternating replicas: the 4th request, on the second, finds the bucket the first emptied.
        answers = [await request(i, f"creator.{i}") for i in range(4)]
        assert [status for status, _ in answers] == [200, 200, 200, 429]
        assert 1 <= int(answers[3][1]["Retry-After"]) <= 2  # a token every 4/3 s
        status, headers = await request(0, "creator.again")  # the other replica says the same
        assert status == 429
        retry_after = int(headers["Retry-After"])
        assert 1 <= retry_after <= 2

        # A signed-in user has a bucket of their own (the address's is empty), the administrator none.
        alice = bearer(hs256(claims("alice")))
        assert [(await request(i, f"alice.{i}", alice))[0] for i in range(4)] == [200, 200, 200, 429]
        admin = bearer(ADMIN_TOKEN)
        assert {(await request(i, f"admin.{i}", admin))[0] for i in range(6)} == {200}

        await asyncio.sleep(retry_after)  # counted from the refusal: the token is there by now
        assert (await request(1, "creator.again"))[0] == 200


async def test_a_replayed_idempotency_key_costs_no_token(replicas: list[str]) -> None:
    bob = bearer(hs256(claims("bob")))
    async with aiohttp.ClientSession() as http:

        async def request(i: int, username: str, key: str) -> Answer:
            url = f"{replicas[i % 2]}/api/profile/{username}/request"
            async with http.post(url, headers={**bob, "Idempotency-Key": key}) as resp:
                await resp.read()
                return resp.status, dict(resp.headers)

        first = await request(0, "replayed", "key-1")
        replays = [await request(i, "replayed", "key-1") for i in range(1, 6)]
        assert first[0] == 200 and "Idempotent-Replayed" not in first[1]
        assert all(status == 200 and headers["Idempotent-Replayed"] == "true" for status, headers in replays)
        # Five replays later bob still has the two tokens the first request left him.
        fresh = [(await request(i, f"fresh.{i}", f"key-fresh-{i}"))[0] for i in range(3)]
        assert fresh == [200, 200, 429]


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
