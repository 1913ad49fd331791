"""Long work under a lease: claim a row, renew at half the lease, fence every write, release.

A lease owner reads `<replica>#<incarnation>[/<slot>]`. A restarted replica comes back with the same
replica name (WORKER_ID) and a new incarnation, so it tells the leases of its previous life from live
ones and takes them back at once instead of waiting for them to expire. Two live processes must never
share a WORKER_ID (one per replica, e.g. the pod or container name).

One behaviour when a lease is lost: the work is cancelled at once, and any write it still attempts is
refused by its fence (LeaseLost). The table's own claim query stays with its service (what is due, in
what order, which state it moves to); `ClaimLoop` drives the claims and has a run-once mode for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
import structlog

from libs.backoff import exponential
from libs.events.db import is_database_outage

log = structlog.get_logger(__name__)

INCARNATION = secrets.token_hex(4)  # this process

# SQL: the lease of a previous life of replica $1 (the current incarnation is $2).
PREVIOUS_LIFE = """split_part(lease_owner, '#', 1) = $1
    AND split_part(split_part(lease_owner, '#', 2), '/', 1) <> $2"""

T = TypeVar("T")
C = TypeVar("C")


class LeaseLost(Exception):
    """Another holder has the row now (ours expired or was taken back): stop, write nothing more."""


def lease_owner(replica: str, slot: int | None = None) -> str:
    owner = f"{replica}#{INCARNATION}"
    return owner if slot is None else f"{owner}/{slot}"


@dataclass(frozen=True)
class LeaseTable:
    """A table whose rows are worked on under a lease (columns lease_owner, lease_expires_at): `key` names
    a row, `held` is the SQL condition of a row being worked on. Identifiers come from code, never input."""

    table: str
    key: str
    held: str

    async def renew(self, pool: asyncpg.Pool, key: Any, owner: str, lease_s: float) -> bool:
        return bool(
            await pool.fetchval(
                f"""UPDATE {self.table} SET lease_expires_at = now() + make_interval(secs => $3)
                    WHERE {self.key} = $1 AND lease_owner = $2 AND {self.held} RETURNING true""",
                key,
                owner,
                lease_s,
            )
        )

    async def fence(self, conn: asyncpg.Connection, key: Any, owner: str, lease_s: float) -> asyncpg.Record:
        """Inside the transaction of a write: the row locked, still ours (else LeaseLost), its lease
        extended. Returns the row."""
        row = await conn.fetchrow(
            f"SELECT * FROM {self.table} WHERE {self.key} = $1 AND {self.held} FOR UPDATE", key
        )
        if row is None or row["lease_owner"] != owner:
            raise LeaseLost(f"{self.table} {key}")
        await conn.execute(
            f"""UPDATE {self.table} SET lease_expires_at = now() + make_interval(secs => $2)
                WHERE {self.key} = $1""",
            key,
            lease_s,
        )
        return row

    async def release(self, pool: asyncpg.Pool, key: Any, owner: str) -> None:
        """Claimable by anyone from now on (a graceful stop, or work handed back after an outage)."""
        await pool.execute(
            f"""UPDATE {self.table} SET lease_expires_at = now()
                WHERE {self.key} = $1 AND lease_owner = $2 AND {self.held}""",
            key,
            owner,
        )

    async def take_back(self, pool: asyncpg.Pool, replica: str) -> int:
        """What this replica held before it restarted: claimable now, not when the lease ends."""
        done = await pool.execute(
            f"UPDATE {self.table} SET lease_expires_at = now() WHERE {self.held} AND {PREVIOUS_LIFE}",
            replica,
            INCARNATION,
        )
        return int(done.removeprefix("UPDATE "))


@dataclass(frozen=True)
class Lease:
    """One row held by `owner`."""

    table: LeaseTable
    key: Any
    owner: str
    lease_s: float

    async def fence(self, conn: asyncpg.Connection) -> asyncpg.Record:
        return await self.table.fence(conn, self.key, self.owner, self.lease_s)

    async def hold(self, pool: asyncpg.Pool, work: Awaitable[T]) -> T:
        """Run `work` while the lease is renewed every half of it. A renewal that finds the row no
        longer ours cancels the work at once and raises LeaseLost; one that cannot reach the database
        is tried again at the next beat (the fence still guards every write)."""
        task = asyncio.ensure_future(work)
        lost = False

        async def renew() -> None:
            nonlocal lost
            while True:
                await asyncio.sleep(self.lease_s / 2)
                try:
                    if not await self.table.renew(pool, self.key, self.owner, self.lease_s):
                        lost = True
                        task.cancel()
                        return
                except Exception as exc:
                    log.warning(
                        "lease.renewal_failed", table=self.table.table, key=str(self.key), error=repr(exc)
                    )

        renewing = asyncio.create_task(renew())
        try:
            return await task
        except asyncio.CancelledError:
            if lost and not _cancelling():
                raise LeaseLost(f"{self.table.table} {self.key}") from None
            raise
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def release_when_reachable(self, pool: asyncpg.Pool) -> None:
        """Hand the row back, retrying for as long as the lease lasts (after that it expires anyway)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lease_s
        attempt = 0
        while True:
            try:
                await self.table.release(pool, self.key, self.owner)
                return
            except Exception as exc:
                attempt += 1
                if loop.time() >= deadline:
                    log.warning(
                        "lease.release_failed", table=self.table.table, key=str(self.key), error=repr(exc)
                    )
                    return
                await asyncio.sleep(exponential(attempt, 0.2, 5.0))


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class ClaimLoop(Generic[C]):
    """Claims work and drives each claim in a task of its own, up to `concurrency` at once; between
    claims it sleeps until woken or the poll interval passes. `run_once` drives what is due now and
    returns when it is all done (tests need no fixed sleeps). A database outage while claiming backs
    off; `stop` cancels the work in hand (which hands its leases back)."""

    def __init__(
        self,
        name: str,
        claim: Callable[[], Awaitable[C | None]],
        drive: Callable[[C], Awaitable[None]],
        *,
        concurrency: int,
        poll_interval_s: float,
        wake: asyncio.Event | None = None,
    ) -> None:
        self.name = name
        self.claim = claim
        self.drive = drive
        self.concurrency = concurrency
        self.poll_interval_s = poll_interval_s
        self.wake = wake or asyncio.Event()
        self._driving: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def run(self) -> None:
        outages = 0
        while not self._stopping:
            self.wake.clear()  # before claiming: work committed after it sets the event again
            try:
                await self._claim_all()
                outages = 0
            except Exception as exc:
                if not is_database_outage(exc):
                    raise
                outages += 1
                log.warning("claims.database_unavailable", loop=self.name, error=repr(exc))
                await asyncio.sleep(exponential(outages, 0.2, 5.0))
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.poll_interval_s)

    async def run_once(self) -> int:
        """Claim and drive until nothing is due; returns how many claims were driven."""
        driven = 0
        while True:
            claimed = await self._claim_all()
            driven += claimed
            if self._driving:
                await asyncio.wait(self._driving, return_when=asyncio.FIRST_COMPLETED)
            elif not claimed:
                return driven

    async def stop(self) -> None:
        self._stopping = True
        self.wake.set()
        driving = list(self._driving)
        for task in driving:
            task.cancel()
        await asyncio.gather(*driving, return_exceptions=True)

    async def _claim_all(self) -> int:
        claimed = 0
        while len(self._driving) < self.concurrency and not self._stopping:
            work = await self.claim()
            if work is None:
                break
            claimed += 1
            task = asyncio.create_task(self._drive(work), name=f"{self.name}-drive")
            self._driving.add(task)
            task.add_done_callback(self._finished)
        return claimed

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._driving.discard(task)
        self.wake.set()  # a slot is free: claim again now rather than after the poll interval

    async def _drive(self, work: C) -> None:
        try:
            await self.drive(work)
        except asyncio.CancelledError:
            raise
        except Exception:  # one claim's failure must not end the loop; its lease decides what happens
            log.exception("claims.drive_failed", loop=self.name)
