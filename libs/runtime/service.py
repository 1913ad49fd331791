"""What every service process shares: connections, topology, relay, consumers, ops endpoints, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import asyncpg
import structlog
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web

from libs.backoff import exponential
from libs.events import Consumer, EventStore, OutboxRelay, broker, topology
from libs.events.consumer import Handlers
from libs.events.db import create_pool
from libs.runtime.config import ServiceSettings
from libs.runtime.logging import configure_logging
from libs.runtime.ops import add_ops_routes
from libs.runtime.queue_depth import report_queue_depths

log = structlog.get_logger(__name__)


async def _with_backoff(what: str, connect: Callable[[], Awaitable[Any]], attempts: int = 60) -> Any:
    """Dependencies may start after us (compose, restarts): keep trying rather than crash-loop."""
    for attempt in range(1, attempts + 1):
        try:
            return await connect()
        except Exception as exc:
            if attempt == attempts:
                raise
            delay = exponential(attempt, 0.2, 5.0)
            log.warning("startup.waiting_for", dependency=what, error=repr(exc), retry_in_s=delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


class ServiceRuntime:
    """Owns the process's pool, broker connection, outbox relay, consumers and background tasks."""

    def __init__(
        self, name: str, settings: ServiceSettings, *, publishes: bool = True, stateless_db: bool = False
    ) -> None:
        self.name = name
        self.stateless_db = stateless_db
        self.settings = settings
        self.topology = settings.topology()
        self.store = EventStore(producer=name)
        self.publishes = publishes
        self.pool: asyncpg.Pool | None = None
        self.amqp: AbstractRobustConnection | None = None
        self.relay: OutboxRelay | None = None
        self.consumers: list[Consumer] = []
        self._consumer_specs: list[dict[str, Any]] = []
        self._background: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._ops_runner: web.AppRunner | None = None
        self._stopped = asyncio.Event()
        self._on_stop: list[Callable[[], Awaitable[None]]] = []

    def add_consumer(self, consumer: str, handlers: Handlers | None = None, **options: Any) -> None:
        self._consumer_specs.append({"consumer": consumer, "handlers": handlers, **options})

    def add_background(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        """A long-running loop (scheduler, watchdog); cancelled at shutdown after consumers stop."""
        self._background.append((name, factory))

    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._on_stop.append(callback)

    async def start(self) -> None:
        s = self.settings
        self.pool = await _with_backoff(
            "postgresql",
            lambda: create_pool(
                s.database_url,
                min_size=s.db_pool_min,
                max_size=s.db_pool_max,
                stateless=self.stateless_db,
                # A stateless pool serves requests: short statements, where compiling one with JIT (which
                # the planner turns on for any it estimates dear, such as a selective feed filter it
                # has no index for) costs tens of milliseconds more than running it.
                server_settings={"jit": "off"} if self.stateless_db else None,
            ),
        )
        self.amqp = await _with_backoff(
            "rabbitmq", lambda: broker.connect_robust(s.amqp_url.get_secret_value(), reconnect_interval=1)
        )
        channel = await self.amqp.channel()
        await topology.declare(channel, self.topology)
        await channel.close()
        if self.publishes:
            self.relay = OutboxRelay(
                producer=self.name,
                dsn=s.database_url,
                amqp_url=s.amqp_url.get_secret_value(),
                topology=self.topology,
                publish_timeout_s=s.relay_publish_timeout_s,
                max_attempts=s.relay_max_attempts,
                retry_base_s=s.relay_retry_base_s,
            )
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        for spec in self._consumer_specs:
            consumer = Consumer(
                service=self.name, pool=self.pool, amqp=self.amqp, topology=self.topology, **spec
            )
            await consumer.start()
            self.consumers.append(consumer)
        if self.consumers:
            names = [c.consumer for c in self.consumers]
            depths = functools.partial(
                report_queue_depths, self.amqp, self.topology, names, s.metrics_interval_s
            )
            self._tasks.append(asyncio.create_task(_supervised("queue-depths", depths), name="queue-depths"))
        for name, factory in self._background:
            self._tasks.append(asyncio.create_task(_supervised(name, factory), name=name))
        if s.ops_port is not None:
            app = web.Application()
            add_ops_routes(app, self.name, self.ready)
            self._ops_runner = web.AppRunner(app, access_log=None)
            await self._ops_runner.setup()
            await web.TCPSite(self._ops_runner, s.ops_host, s.ops_port).start()
        log.info("service.started", ops_port=s.ops_port)

    async def ready(self) -> dict[str, bool]:
        db_ok = False
        if self.pool is not None:
            with contextlib.suppress(Exception):
                db_ok = await asyncio.wait_for(self.pool.fetchval("SELECT true"), 2.0) is True
        broker_ok = self.amqp is not None and not self.amqp.is_closed
        return {"database": db_ok, "broker": broker_ok}

    async def stop(self) -> None:
        """Stop consuming, finish or hand back in-flight work, flush the relay, close connections."""
        log.info("service.stopping")
        await asyncio.gather(*(c.stop(self.settings.shutdown_timeout_s) for c in self.consumers))
        for callback in self._on_stop:
            with contextlib.suppress(Exception):
                await callback()
        background = [t for t in self._tasks if t.get_name() != "outbox-relay"]
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if self.relay is not None:
            await self.relay.stop()
            relay_tasks = [t for t in self._tasks if t.get_name() == "outbox-relay"]
            await asyncio.wait(relay_tasks, timeout=15)
        if self._ops_runner is not None:
            await self._ops_runner.cleanup()
        if self.amqp is not None:
            await self.amqp.close()
        if self.pool is not None:
            await self.pool.close()
        log.info("service.stopped")
        self._stopped.set()

    async def run_until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        await stop.wait()
        await self.stop()


async def _supervised(name: str, factory: Callable[[], Awaitable[None]]) -> None:
    """Restart a background loop that crashed, after a pause, instead of losing it silently."""
    while True:
        try:
            await factory()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background.crashed", task=name)
            await asyncio.sleep(1.0)


def run(main: Callable[[], Coroutine[Any, Any, None]], service: str, level: str = "INFO") -> None:
    configure_logging(service, level)
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover - platforms without uvloop
        asyncio.run(main())
