"""A read replica for browsing (DATABASE_READ_URL): the discovery feed, profiles, their reels and
similar accounts, and the alert feed read from it, which is where the heavy queries are.

The rule: a read goes to the replica only while its lag is known and at most REPLICA_MAX_LAG_S;
unknown (the replica unreachable, not checked for three intervals) or larger, it goes to the primary.
Whatever a command's answer or a status depends on never reads the replica: job and profile status,
queue-status, check-existing, boards, watchlists, webhooks and the live streams stay on the primary, so
read-your-writes after a command and a status that never goes backwards hold however far the replica
falls behind. A browse read may show the state of up to REPLICA_MAX_LAG_S ago; the projector's own lag
comes on top, as without a replica.

Lag: the primary's WAL position against what the replica has replayed; when it is behind, the lag in
seconds is the age of the last transaction it replayed (0 when it has replayed everything)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import asyncpg
import structlog
from aiohttp import web
from prometheus_client import Counter, Gauge

from libs.events.db import FairPool, create_pool
from libs.runtime.loops import every
from services.gateway import keys
from services.gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)

LAG_SECONDS = Gauge("viralspot_db_replica_lag_seconds", "How far the read replica is behind the primary")
LAG_BYTES = Gauge("viralspot_db_replica_lag_bytes", "WAL the read replica has yet to replay")
USABLE = Gauge("viralspot_db_replica_usable", "1 while browse reads go to the replica")
READS = Counter(
    "viralspot_db_browse_reads_total", "Browse reads, by the database that served them", ["target"]
)

_BEHIND = """SELECT pg_is_in_recovery() AS standby,
                    pg_wal_lsn_diff($1::text::pg_lsn, pg_last_wal_replay_lsn()) AS behind,
                    extract(epoch FROM now() - pg_last_xact_replay_timestamp()) AS age"""


class Replica:
    def __init__(self, primary: FairPool, settings: GatewaySettings) -> None:
        self.primary = primary
        self.url = settings.database_read_url
        self.max_lag_s = settings.replica_max_lag_s
        self.check_s = settings.replica_check_s
        self.size = settings.db_pool_max
        self.pool: FairPool | None = None
        self._fresh_until = 0.0  # monotonic: reads go to the replica until then

    def reads(self) -> FairPool:
        pool = self.pool if self.pool is not None and time.monotonic() < self._fresh_until else self.primary
        READS.labels("primary" if pool is self.primary else "replica").inc()
        return pool

    async def check(self) -> float | None:
        """The replica's lag in seconds (None: unknown), and where reads go from now on."""
        lag: float | None = None
        try:
            if self.pool is None:
                raw = await create_pool(self.url or "", min_size=1, max_size=self.size, stateless=True,
                                        server_settings={"jit": "off"})  # fmt: skip
                self.pool = FairPool(raw, self.size)
            primary_lsn = await self.primary.fetchval("SELECT pg_current_wal_lsn()::text")
            row = await self.pool.fetchrow(_BEHIND, primary_lsn)
            assert row is not None
            if not row["standby"]:
                log.warning("gateway.replica_not_a_standby")  # a promoted replica may be ahead or elsewhere
            elif row["behind"] <= 0:
                lag = 0.0
            else:
                lag = float(row["age"]) if row["age"] is not None else None
            LAG_BYTES.set(max(0.0, float(row["behind"] or 0)))
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Down, restarting or refusing: browse reads go to the primary until it answers again.
            log.warning("gateway.replica_unreachable", error=type(exc).__name__, detail=str(exc)[:200])
        if lag is not None and lag <= self.max_lag_s:
            self._fresh_until = time.monotonic() + 3 * self.check_s
        else:
            self._fresh_until = 0.0
        LAG_SECONDS.set(lag if lag is not None else float("inf"))
        USABLE.set(1 if self._fresh_until else 0)
        return lag

    async def loop(self) -> None:
        await every(self.check_s, self.check, "gateway.replica")

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.pool.close()


REPLICA = web.AppKey("replica", Replica)  # set with DATABASE_READ_URL


def reads(request: web.Request) -> FairPool:
    """The pool a browse read uses: the replica while it is fresh enough, else the primary."""
    replica = request.app.get(REPLICA)
    return replica.reads() if replica is not None else request.app[keys.POOL]


def attach(app: web.Application, settings: GatewaySettings) -> None:
    """With DATABASE_READ_URL, the replica and its lag check live as long as the app."""
    if settings.database_read_url is None:
        return

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        replica = Replica(app[keys.POOL], settings)
        app[REPLICA] = replica
        task = asyncio.create_task(replica.loop(), name="replica-lag")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await replica.close()

    app.cleanup_ctx.append(lifetime)
