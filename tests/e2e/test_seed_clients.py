"""The seeds' own bash clients against `make run` (infra/scripts/run-local.sh): seed 003's
request-profile.sh and seed 001's check-analysis-status.sh, copied verbatim into tests/seed_clients/,
print what the seeds show.

make run runs here on this test's database, vhost names and free ports. The scripts talk to
http://localhost:8000: request-profile.sh takes API_BASE, check-analysis-status.sh gets its URL
rewritten. request-profile.sh waits 30 s between status checks; a `sleep` first on its PATH keeps that
to a moment.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import aiohttp
import pytest

from tests.support import infra

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "tests" / "seed_clients"
STRATEGY = {"contentType": "Home workouts", "targetAudience": "Busy parents", "goals": "Grow"}


def free_ports(count: int) -> int:
    """A base port with `count` free ports from it (the services' ops ports are base .. base+4)."""
    for _ in range(50):
        base = infra.free_port()
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise AssertionError("no run of free ports")


async def run_client(script: Path, *args: str, env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        "bash", str(script), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return out.decode(errors="replace")


@pytest.mark.slow
async def test_the_seeds_bash_clients_print_what_the_seeds_show(
    service_env: dict[str, str], amqp, output_dir: Path, tmp_path: Path
) -> None:
    gateway, simulator, ops_base = infra.free_port(), infra.free_port(), free_ports(5)
    base = f"http://127.0.0.1:{gateway}"
    env = {
        **os.environ,
        **service_env,  # this test's database, vhost, names and retry ladder (declared by `amqp`)
        "GATEWAY_PORT": str(gateway),
        "SIM_PORT": str(simulator),
        "OPS_PORT_BASE": str(ops_base),
        "RUN_DIR": str(output_dir / "run"),
        "ADMIN_TOKEN": "seed-clients-admin",
    }
    with (output_dir / "make-run.log").open("wb") as log:
        make_run = await asyncio.create_subprocess_exec(
            "bash", "infra/scripts/run-local.sh", cwd=ROOT, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:

            async def ready() -> bool:
                assert make_run.returncode is None, (output_dir / "make-run.log").read_text()[-3000:]
                try:
                    async with http.get(f"{base}/readyz") as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    return False

            await infra.eventually(ready, timeout_s=60, interval_s=0.3, message="make run up")
            shim = tmp_path / "bin"
            shim.mkdir()
            (shim / "sleep").write_text("#!/bin/sh\nexec /bin/sleep 0.5\n")
            (shim / "sleep").chmod(0o755)
            client_env = {**os.environ, "API_BASE": base, "PATH": f"{shim}:{os.environ['PATH']}"}

            first = await run_client(CLIENTS / "request-profile.sh", "@FitWithMaya", env=client_env)
            for line in (
                "Requesting profile processing for @FitWithMaya",  # the script keeps the case, the API folds it
                "Profile fitwithmaya added to high priority processing queue",
                "Profile Type: new",
                "Status: pending",
                "Queue Position: #1",
                "Profile processing completed for @FitWithMaya!",
            ):
                assert line in first, first
            again = await run_client(CLIENTS / "request-profile.sh", "fitwithmaya", env=client_env)
            assert "Profile fitwithmaya was recently processed and is now available" in again, again
            assert "Profile Type: primary" in again and "Status: exists" in again, again

            job = {
                "session_id": "seed-client-1",
                "primary_username": "fitwithmaya",
                "selected_competitors": ["fit.coach.amy", "gym.bro.max"],
                "content_strategy": STRATEGY,
            }
            async with http.post(f"{base}/api/viral-ideas/queue", json=job) as resp:
                assert resp.status == 201, await resp.text()

            async def completed() -> bool:
                async with http.get(f"{base}/api/viral-ideas/queue/seed-client-1") as resp:
                    return (await resp.json())["data"]["status"] == "completed"

            await infra.eventually(completed, timeout_s=60, interval_s=0.3, message="the analysis done")
        script = tmp_path / "check-analysis-status.sh"
        script.write_text(
            (CLIENTS / "check-analysis-status.sh").read_text().replace("http://localhost:8000", base)
        )
        status = await run_client(script, "seed-client-1", env=dict(os.environ))
        for line in (
            "Checking analysis status for session: seed-client-1",
            "  User: @fitwithmaya",
            "  Status: completed",
            "  Progress: 100%",
            "  Current Step: completed",
            "  Competitors: 2",
            "  @fit.coach.amy - completed (manual)",
            "  @gym.bro.max - completed (manual)",
        ):
            assert line in status, status
        unknown = await run_client(script, "no-such-session", env=dict(os.environ))
        assert "Error: Queue entry not found" in unknown, unknown
        (output_dir / "clients.txt").write_text(first + again + status + unknown)
    finally:
        os.killpg(make_run.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(make_run.wait(), 40)
        except TimeoutError:
            os.killpg(make_run.pid, signal.SIGKILL)
            await make_run.wait()
