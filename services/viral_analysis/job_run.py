"""One run of a job in hand: its lease, its steps, and its events appended to the job's stream in turn."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg

from libs.events import EventStore, NewEvent
from libs.events.catalog import Event, ProgressUpdated, analysis_stream
from libs.leases import Lease, LeaseLost
from services.viral_analysis import repository
from services.viral_analysis.domain import PROGRESS, Job


class RunAborted(Exception):
    """Cancelled by the user, or the run's result is already stored: stop without a result."""


@dataclass
class JobRun:
    job: Job
    lease: Lease
    slot: int
    pool: asyncpg.Pool
    store: EventStore
    # The run's parallel fetches all append to the job's one stream: they take turns under this lock
    # rather than race for the next version (other services' rare appends are still retried by commit).
    turn: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def step(self, step: str) -> None:
        """A step begins: stop if the lease went elsewhere or the user cancelled, else say so."""
        check = await repository.check_step(self.pool, self.job.queue_id)
        if check is None or check.lease_owner != self.lease.owner:
            raise LeaseLost(f"analysis job {self.job.queue_id}")
        if check.cancel_requested:
            await repository.acknowledge_cancel(self.pool, self.job.queue_id)
            raise RunAborted("cancelled by the user")
        await self.emit(
            ProgressUpdated(queue_id=self.job.queue_id, run=self.job.run, step=step, progress=PROGRESS[step])
        )

    async def emit(
        self, *events: Event, writes: Callable[[asyncpg.Connection], Awaitable[None]] | None = None
    ) -> None:
        async with self.turn, self.pool.acquire() as conn:
            await self.store.commit(
                conn,
                analysis_stream(self.job.queue_id),
                [NewEvent(event=e) for e in events],
                writes=writes,
                correlation_id=self.job.correlation_id,
                causation_id=self.job.causation_id,
            )
