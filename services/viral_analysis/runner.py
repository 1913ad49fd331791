"""Runs analysis jobs: the seeds' ViralIdeasProcessor, made restartable.

The claim loop takes the best pending job (manual first, then priority, then trigger time) with a lease
renewed while the run goes on; a job whose lease expired (its worker died) is claimed again and its run
restarted with the same number. Each step commits its progress event; the result and AnalysisCompleted
commit once per (job, run), fenced by the lease. A database outage hands the job back, never fails it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog
from prometheus_client import Counter, Gauge, Histogram

from libs.analysis import AnalysisData, AnalysisEngine, AnalysisEngineError
from libs.events import EventStore, NewEvent
from libs.events.catalog import (
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisStarted,
    ProgressUpdated,
    ReelSnapshot,
    analysis_stream,
)
from libs.events.db import is_database_outage
from libs.instagram import InstagramProvider, ProviderError
from libs.leases import ClaimLoop, Lease, LeaseLost, lease_owner
from services.viral_analysis import repository
from services.viral_analysis.domain import (
    analysis_input,
    analysis_result,
    next_scheduled_run,
    niche_buckets,
    primary_reels_read,
    transcript_candidates,
)
from services.viral_analysis.fetch import ContentFetcher, PrimaryUnavailable
from services.viral_analysis.job_run import JobRun, RunAborted
from services.viral_analysis.settings import AnalysisSettings

log = structlog.get_logger(__name__)

RUNS = Counter("viralspot_analysis_runs_total", "Analysis runs by outcome", ["outcome"])
RUN_SECONDS = Histogram(
    "viralspot_analysis_run_seconds",
    "Duration of a finished analysis run",
    buckets=(0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600),
)
# The engine's own share of a run (the rest is waiting on the provider and the database).
ENGINE_SECONDS = Histogram(
    "viralspot_analysis_engine_seconds",
    "Time the analysis engine took to write one run's analysis",
    ["engine"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
RUNNING = Gauge("viralspot_analysis_running", "Analysis runs in progress in this process")


class AnalysisRunner:
    def __init__(
        self,
        store: EventStore,
        provider: InstagramProvider,
        engine: AnalysisEngine,
        settings: AnalysisSettings,
        wake: asyncio.Event,
    ) -> None:
        self.store = store
        self.engine = engine
        self.settings = settings
        self.fetcher = ContentFetcher(provider, settings)
        self.claims = ClaimLoop(
            "analysis",
            self._claim,
            self._drive,
            concurrency=settings.analysis_concurrency,
            poll_interval_s=settings.analysis_poll_interval_s,
            wake=wake,
        )
        # Each run in hand has a slot of its own, named in its lease owner (`<replica>#<incarnation>/<slot>`).
        self._free_slots = set(range(settings.analysis_concurrency))
        self._pool: asyncpg.Pool | None = None

    async def run(self, pool: asyncpg.Pool) -> None:
        """Claim and drive jobs until stopped, after taking back the runs of this replica's previous life."""
        self._pool = pool
        taken = await repository.JOBS.take_back(pool, self.settings.worker_id)
        if taken:
            log.info("analysis.previous_leases_released", jobs=taken)
        try:
            await self.claims.run()
        except asyncio.CancelledError:
            await self.claims.stop()
            raise
        else:  # stopped: a claim that was in flight when stop() came is handed back too
            await self.claims.stop()

    async def run_once(self, pool: asyncpg.Pool) -> int:
        """Drive every job due now to its end; returns how many runs were driven."""
        self._pool = pool
        return await self.claims.run_once()

    async def stop(self) -> None:
        """Graceful stop: the runs in hand are handed back at once (restarted by the next claim)."""
        await self.claims.stop()

    async def _claim(self) -> JobRun | None:
        assert self._pool is not None, "claims start with run() or run_once()"
        slot = min(self._free_slots)
        owner = lease_owner(self.settings.worker_id, slot)
        lease_s = self.settings.analysis_lease_s
        async with self._pool.acquire() as conn, conn.transaction():
            claimed = await repository.claim_next(conn, owner, lease_s)
            if claimed is None:
                return None
            job, previous_status = claimed
            started = AnalysisStarted(
                queue_id=job.queue_id,
                run=job.run,
                worker=owner,
                lease_expires_at=datetime.now(UTC) + timedelta(seconds=lease_s),
            )
            await self.store.append(
                conn,
                analysis_stream(job.queue_id),
                [NewEvent(event=started)],
                expected_version=None,
                correlation_id=job.correlation_id,
                causation_id=job.causation_id,
            )
        self._free_slots.discard(slot)
        log.info(
            "analysis.claimed", queue_id=job.queue_id, run=job.run, restarted=previous_status == "processing"
        )
        lease = Lease(repository.JOBS, uuid.UUID(job.queue_id), owner, lease_s)
        return JobRun(job=job, lease=lease, slot=slot, pool=self._pool, store=self.store)

    async def _drive(self, run: JobRun) -> None:
        job = run.job
        RUNNING.inc()
        started = time.perf_counter()
        try:
            outcome = await run.lease.hold(run.pool, self._run(run))
        except RunAborted as exc:
            outcome = "aborted"
            log.info("analysis.aborted", queue_id=job.queue_id, run=job.run, reason=str(exc))
        except LeaseLost:
            outcome = "lease_lost"
            log.warning("analysis.lease_lost", queue_id=job.queue_id, run=job.run)
        except asyncio.CancelledError:
            # Shutdown: hand the job back now rather than when the lease runs out.
            await asyncio.shield(self._release(run))
            raise
        except Exception as exc:
            if not is_database_outage(exc):
                raise
            # The run (or recording its failure) lost the database: hand the job back once it is
            # reachable again, so the next claim restarts the run at once; the job never fails for it.
            outcome = "interrupted"
            log.warning("analysis.interrupted", queue_id=job.queue_id, run=job.run, error=repr(exc))
            await run.lease.release_when_reachable(run.pool)
        finally:
            RUNNING.dec()
            self._free_slots.add(run.slot)
        RUNS.labels(outcome).inc()
        RUN_SECONDS.observe(time.perf_counter() - started)

    async def _release(self, run: JobRun) -> None:
        try:
            await repository.JOBS.release(run.pool, run.lease.key, run.lease.owner)
        except Exception as exc:
            log.warning("analysis.release_failed", queue_id=run.job.queue_id, error=repr(exc))

    async def _run(self, run: JobRun) -> str:
        job, settings = run.job, self.settings
        started_at = datetime.now(UTC)
        clock = time.perf_counter()
        try:
            await run.step("fetching primary profile")
            primary, competitors = await self.fetcher.profiles(run)
            await run.step("selecting top reels")
            factor = settings.transcript_fallback_factor
            primary_candidates = transcript_candidates(primary[1], settings.primary_transcripts, factor)
            competitor_candidates = {
                name: transcript_candidates(reels, settings.competitor_transcripts, factor)
                for name, (_, reels) in competitors.items()
            }
            await run.step("fetching transcripts")
            primary_top, competitor_top = await self.fetcher.transcribed(
                run, primary_candidates, competitor_candidates
            )
            await run.step("analysing hooks")
            read = primary_reels_read(primary, primary_top)
            theirs = [(name, r) for name, reels in competitor_top.items() for r in reels]
            niches = await repository.niche_baselines(
                run.pool, niche_buckets([*((primary[0].username, r) for r in read), *theirs])
            )
            engine_input = analysis_input(job, primary, primary_top, competitors, competitor_top, niches)
            with ENGINE_SECONDS.labels(getattr(self.engine, "name", "local")).time():
                data = await self.engine.analyse(engine_input)
            await run.step("generating hooks and scripts")
            await run.step("storing results")
            await self._complete(run, started_at, clock, primary[0].username, read, competitor_top, data)
            return "completed"
        except (RunAborted, LeaseLost, asyncio.CancelledError):
            raise
        except PrimaryUnavailable as exc:
            await self._fail(run, str(exc))
        except ProviderError as exc:
            await self._fail(run, f"{exc}. Nothing was stored; run the analysis again later.")
        except AnalysisEngineError as exc:
            await self._fail(run, f"The analysis engine failed: {exc}")
        except Exception as exc:
            if is_database_outage(exc):
                raise  # not the run's fault: handed back and restarted (_drive)
            log.exception("analysis.unexpected_error", queue_id=job.queue_id, run=job.run)
            await self._fail(run, f"The analysis failed unexpectedly ({type(exc).__name__}).")
        return "failed"

    async def _complete(
        self,
        run: JobRun,
        started_at: datetime,
        clock: float,
        primary_username: str,
        primary_reels: list[ReelSnapshot],
        competitor_top: dict[str, list[ReelSnapshot]],
        data: AnalysisData,
    ) -> None:
        job = run.job
        completed_at = datetime.now(UTC)
        next_run = next_scheduled_run(completed_at, job.auto_rerun_enabled, job.rerun_frequency_hours)
        result = analysis_result(
            job,
            primary_username=primary_username,
            primary_top=primary_reels,
            competitor_top=competitor_top,
            analysis_data=data,
            workflow_version=getattr(self.engine, "version", "local"),
            started_at=started_at,
            completed_at=completed_at,
            processing_time_seconds=round(time.perf_counter() - clock, 3),
        )

        async def store(conn: asyncpg.Connection) -> None:
            await run.lease.fence(conn)
            if not await repository.record_result_once(conn, job.queue_id, job.run):
                raise RunAborted("this run's result was already stored")
            await repository.mark_completed(conn, job.queue_id, completed_at, next_run)

        await run.emit(
            ProgressUpdated(queue_id=job.queue_id, run=job.run, step="completed", progress=100),
            AnalysisCompleted(queue_id=job.queue_id, run=job.run, result=result, next_scheduled_run=next_run),
            writes=store,
        )
        log.info(
            "analysis.completed", queue_id=job.queue_id, run=job.run, seconds=result.processing_time_seconds
        )

    async def _fail(self, run: JobRun, message: str) -> None:
        job = run.job
        log.warning("analysis.failed", queue_id=job.queue_id, run=job.run, error_message=message)

        async def mark(conn: asyncpg.Connection) -> None:
            await run.lease.fence(conn)
            await repository.mark_failed(conn, job.queue_id, run.lease.owner)

        await run.emit(
            AnalysisFailed(queue_id=job.queue_id, run=job.run, error_message=message[:2000]), writes=mark
        )
