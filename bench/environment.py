"""An isolated database, RabbitMQ vhost and event namespace, and the service processes running on them.

Everything is removed on exit, also after a failure, so the bench runs beside `make run` and the tests.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import aio_pika
import aiohttp
import asyncpg

from libs.events import Topology
from libs.events import topology as topology_mod
from libs.events.db import create_pool
from libs.events.migrate import migrate
from tests.support import infra
from tests.support.processes import ServiceProcess

SIMULATOR_SEED = 42  # the bench picks its usernames from the simulator's world with this seed


class BenchEnvironment:
    def __init__(self) -> None:
        self.database = infra.unique("vs_bench")
        self.vhost = infra.unique("vs_bench")
        self.database_url = infra.database_url(self.database)
        self.amqp_url = infra.AMQP_BASE_URL
        self.topology = Topology(namespace=infra.unique("bench"))
        self.logs = Path(tempfile.mkdtemp(prefix="vs_bench_logs_"))
        self.processes: dict[str, ServiceProcess] = {}
        self.ports: dict[str, int] = {}
        self.extra_queues: list[str] = []
        self.pool: asyncpg.Pool | None = None
        self.amqp: aio_pika.abc.AbstractConnection | None = None
        self._db_created = False
        self._own_vhost = False

    async def __aenter__(self) -> BenchEnvironment:
        try:
            await infra.create_database(self.database)
            self._db_created = True
            await migrate(self.database_url)
            self.amqp_url = await asyncio.to_thread(infra.create_vhost, self.vhost)
            self._own_vhost = self.amqp_url != infra.AMQP_BASE_URL
            self.pool = await create_pool(self.database_url, min_size=2, max_size=8)
            self.amqp = await aio_pika.connect(self.amqp_url)
            # Declared up front, so events published while the projector is stopped stay in its queue.
            async with self.amqp.channel() as channel:
                await topology_mod.declare(channel, self.topology)
        except BaseException:
            await self.close(failed=True)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close(failed=exc_type is not None)

    def service_env(self, **extra: str) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "AMQP_URL": self.amqp_url,
            "EVENT_NAMESPACE": self.topology.namespace,
            "LOG_LEVEL": "WARNING",
            # The figures are the gateway's pace: one address's thousands of requests a second would
            # otherwise be mostly 429s (the limits' cost is one function call in PostgreSQL).
            "RATE_LIMIT_ANALYSES": "off",
            "RATE_LIMIT_RERUNS": "off",
            "RATE_LIMIT_PROFILES": "off",
            **extra,
        }

    async def start(
        self, name: str, module: str, port_variable: str, ready_path: str = "/readyz", **extra: str
    ) -> ServiceProcess:
        """Start `module` as its own process and wait until its readiness path answers."""
        port = self.ports.setdefault(name, infra.free_port())
        env = self.service_env(**{port_variable: str(port)}, **extra)
        process = ServiceProcess(module, env, self.logs / f"{name}.log").start()
        self.processes[name] = process
        await process.wait_ready(f"http://127.0.0.1:{port}{ready_path}", timeout_s=60)
        return process

    async def start_gateway(self) -> ServiceProcess:
        return await self.start("gateway", "services.gateway", "GATEWAY_PORT")

    async def start_projector(self, batch_size: int | None = None) -> ServiceProcess:
        extra = {"PROJECTOR_BATCH_SIZE": str(batch_size)} if batch_size else {}
        return await self.start("projector", "services.projector", "OPS_PORT", **extra)

    async def start_simulator(self, latency_ms: float) -> str:
        """The Instagram simulator in its own process, so its CPU is not ours; one shared by every figure."""
        if "simulator" not in self.processes:
            seed = str(SIMULATOR_SEED)
            await self.start("simulator", "infra.simulator", "SIM_PORT", "/__sim/health", SIM_SEED=seed)
        url = f"http://127.0.0.1:{self.ports['simulator']}"
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/__sim/config", json={"latency_ms": latency_ms}) as response:
                assert response.status == 200, await response.text()
        return url

    async def simulator_calls(self) -> int:
        """Provider requests the simulator has answered so far."""
        url = f"http://127.0.0.1:{self.ports['simulator']}/__sim/stats"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return int((await response.json())["total"])

    async def start_with_provider(self, name: str, module: str, **extra: str) -> ServiceProcess:
        """A service whose Instagram client talks to the simulator; the client's own budget is off,
        the simulator does not limit either, so provider latency is the only brake measured."""
        url = f"http://127.0.0.1:{self.ports['simulator']}"
        provider = {
            "INSTAGRAM_SCRAPER_URL": url,
            "TRANSCRIPT_API_URL": url,
            "PROVIDER_RATE_LIMIT_PER_MINUTE": "0",
        }
        return await self.start(name, module, "OPS_PORT", **provider, **extra)

    def pids(self) -> dict[int, str]:
        return {p.proc.pid: name for name, p in self.processes.items() if p.proc is not None}

    async def stop(self, name: str, timeout_s: float = 30) -> None:
        """SIGTERM (the service drains and hands back its messages), SIGKILL if it hangs."""
        process = self.processes.pop(name, None)
        if process is None or process.proc is None or process.proc.poll() is not None:
            return
        process.kill(signal.SIGTERM)
        try:
            await process.wait_exit(timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait_exit(10)

    async def reset_store(self) -> None:
        """Empty the event store and read models, and the queues nobody consumes here."""
        assert self.pool is not None and self.amqp is not None
        await self.pool.execute(
            """TRUNCATE eventstore.events, eventstore.parked_events, eventstore.inbox, readmodel.stream_checkpoints,
                        readmodel.profile_queue"""
        )
        async with self.amqp.channel() as channel:
            for consumer in self.topology.subscriptions:
                if consumer != "projector":
                    queue = await channel.get_queue(self.topology.queue(consumer), ensure=False)
                    await queue.purge()

    async def queue_depth(self, consumer: str) -> int:
        assert self.amqp is not None
        async with self.amqp.channel() as channel:
            return await infra.queue_depth(channel, self.topology.queue(consumer))

    async def close(self, failed: bool) -> None:
        """Every step runs even when an earlier one fails: nothing of ours may outlive the bench."""
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            (f"stop {name}", lambda name=name: self.stop(name, timeout_s=10)) for name in list(self.processes)
        ]
        if self.pool is not None:
            steps.append(("close the pool", self.pool.close))
        if self.amqp is not None:
            if not self._own_vhost:  # on the shared vhost, remove our names one by one
                steps.append(("delete the queues", self._delete_queues))
            steps.append(("close the broker connection", self.amqp.close))
        if self._own_vhost:
            steps.append(("delete the vhost", lambda: asyncio.to_thread(infra.delete_vhost, self.vhost)))
        if self._db_created:
            steps.append(("drop the database", lambda: infra.drop_database(self.database)))
        for what, step in steps:
            try:
                await step()
            except Exception as exc:
                failed = True
                print(f"cleanup: could not {what}: {exc!r}")
        if failed:
            print(f"service logs kept in {self.logs}")
        else:
            shutil.rmtree(self.logs, ignore_errors=True)

    async def _delete_queues(self) -> None:
        assert self.amqp is not None
        async with self.amqp.channel() as channel:
            for queue in self.extra_queues:
                await channel.queue_delete(queue)
            await topology_mod.delete(channel, self.topology)


async def wait_until(check: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)


def progress(figure: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Print each figure as it is measured; the table comes at the end."""
    print(figure, figures, flush=True)
    return figures
