"""Runs analysis jobs: the seeds' ViralIdeasProcessor, made restartable.

A worker claims the best pending job (priority, then trigger time) together with a lease it renews
while alive; a job whose lease expired (its worker died) is claimed again and its run restarted. Each
step commits its progress event; the result and AnalysisCompleted commit once per (job, run).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import structlog
from prometheus_client import Counter, Gauge, Histogram

from libs.analysis import AnalysisEngineError, AnalysisInput, CompetitorInput, ProfileInput, ReelInput
from libs.backoff import exponential
from libs.events import EventStore, NewEvent
from libs.events.catalog import (
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisResult,
    AnalysisStarted,
    AnalyzedReel,
    CompetitorStatusChanged,
    ContentFetched,
    Event,
    ProfileSnapshot,
    ProgressUpdated,
    ReelSnapshot,
    analysis_stream,
)
from libs.events.db import is_database_outage
from libs.instagram import AccountNotFound, AccountPrivate, InstagramProvider, ProviderError
from libs.leases import INCARNATION, PREVIOUS_LIFE, lease_owner
from libs.scoring.snapshots import profile_snapshot
from services.viral_analysis.domain import PROGRESS, Job, pick_with_transcripts, transcript_candidates
from services.viral_analysis.settings import AnalysisSettings

log = structlog.get_logger(__name__)

RUNS = Counter("viralspot_analysis_runs_total", "Analysis runs by outcome", ["outcome"])
RUN_SECONDS = Histogram(
    "viralspot_analysis_run_seconds",
    "Duration of a finished analysis run",
    buckets=(0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600),
)
RUNNING = Gauge("viralspot_analysis_running", "Analysis runs in progress in this process")


class RunAborted(Exception):
    """Cancelled by the user, or the lease went to another worker: stop without a result."""


class RunInterrupted(Exception):
    """The database went away mid-run: the run is handed back and restarted, never failed for it."""


class PrimaryUnavailable(Exception):
    """The creator's own account cannot be analysed; the run fails with this message."""


_CLAIM = """
WITH next AS (
    SELECT queue_id, status FROM analysis.jobs
    WHERE status = 'pending' OR (status = 'processing' AND lease_expires_at < now())
    ORDER BY (trigger = 'manual') DESC, priority, triggered_at
    LIMIT 1 FOR UPDATE SKIP LOCKED
)
UPDATE analysis.jobs j
SET status = 'processing', lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2),
    cancel_requested = false,
    run = CASE WHEN next.status = 'pending' THEN j.run + 1 ELSE j.run END
FROM next WHERE j.queue_id = next.queue_id
RETURNING j.*, next.status AS previous_status"""


class AnalysisRunner:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        store: EventStore,
        provider: InstagramProvider,
        engine: Any,
        settings: AnalysisSettings,
        wake: asyncio.Event,
        slot: int = 0,
    ) -> None:
        self.pool = pool
        self.store = store
        self.provider = provider
        self.engine = engine
        self.settings = settings
        self.wake = wake
        self.owner = lease_owner(settings.worker_id, slot)

    async def work(self) -> None:
        """One worker: claim, run, repeat; sleep until woken or the poll interval passes."""
        await self._take_back_previous_leases()
        outage = 0
        while True:
            self.wake.clear()  # before the claim: a job committed after it sets the event again
            try:
                job = await self._claim()
                outage = 0
            except Exception as exc:
                if not is_database_outage(exc):
                    raise
                outage += 1
                log.warning("analysis.database_unavailable", error=repr(exc))
                await asyncio.sleep(exponential(outage, 0.2, 5.0))
                continue
            if job is None:
                try:
                    await asyncio.wait_for(self.wake.wait(), self.settings.analysis_poll_interval_s)
                except TimeoutError:
                    pass
                continue
            await self._run_with_lease(job)

    async def _take_back_previous_leases(self) -> None:
        """Runs this replica held before it restarted are claimable now, not when their lease ends."""
        taken = await self.pool.execute(
            f"""UPDATE analysis.jobs SET lease_expires_at = now()
                WHERE status = 'processing' AND {PREVIOUS_LIFE}""",
            self.settings.worker_id,
            INCARNATION,
        )
        if taken != "UPDATE 0":
            log.info("analysis.previous_leases_released", jobs=taken.removeprefix("UPDATE "))

    async def _claim(self) -> Job | None:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_CLAIM, self.owner, self.settings.analysis_lease_s)
            if row is None:
                return None
            job = Job(
                queue_id=str(row["queue_id"]),
                session_id=row["session_id"],
                primary_username=row["primary_username"],
                competitors=list(row["competitors"]),
                content_strategy=row["content_strategy"],
                analysis_settings=row["analysis_settings"],
                run=row["run"],
                trigger=row["trigger"],
                last_completed_at=row["last_completed_at"],
                auto_rerun_enabled=row["auto_rerun_enabled"],
                rerun_frequency_hours=row["rerun_frequency_hours"],
                correlation_id=row["correlation_id"],
                causation_id=row["causation_id"],
            )
            restarted = row["previous_status"] == "processing"
            started = AnalysisStarted(
                queue_id=job.queue_id,
                run=job.run,
                worker=self.owner,
                lease_expires_at=datetime.now(UTC) + timedelta(seconds=self.settings.analysis_lease_s),
            )
            await self.store.append(
                conn,
                analysis_stream(job.queue_id),
                [NewEvent(event=started)],
                expected_version=None,
                correlation_id=job.correlation_id,
                causation_id=job.causation_id,
            )
        log.info("analysis.claimed", queue_id=job.queue_id, run=job.run, restarted=restarted)
        return job

    async def _run_with_lease(self, job: Job) -> None:
        run = asyncio.create_task(self._run(job))
        heartbeat = asyncio.create_task(self._renew_lease(job, run))
        RUNNING.inc()
        started = time.perf_counter()
        try:
            outcome = await run
        except RunAborted as exc:
            outcome = "aborted"
            log.info("analysis.aborted", queue_id=job.queue_id, run=job.run, reason=str(exc))
        except Exception as exc:
            if not is_database_outage(exc):
                raise
            # The run (or recording its failure) lost the database: hand the job back once it is
            # reachable again, so the next claim restarts the run at once; the job never fails for it.
            outcome = "interrupted"
            log.warning("analysis.interrupted", queue_id=job.queue_id, run=job.run, error=repr(exc))
            await self._release_when_reachable(job)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # Shutdown: hand the job back now rather than when the lease runs out.
                await asyncio.shield(self._release(job))
                raise
            outcome = "lease_lost"
        finally:
            heartbeat.cancel()
            RUNNING.dec()
        RUNS.labels(outcome).inc()
        RUN_SECONDS.observe(time.perf_counter() - started)

    async def _release(self, job: Job) -> bool:
        try:
            await self.pool.execute(
                """UPDATE analysis.jobs SET lease_expires_at = now()
                   WHERE queue_id = $1 AND lease_owner = $2 AND status = 'processing'""",
                uuid.UUID(job.queue_id),
                self.owner,
            )
        except Exception as exc:
            log.warning("analysis.release_failed", queue_id=job.queue_id, error=repr(exc))
            return False
        return True

    async def _release_when_reachable(self, job: Job) -> None:
        """Retry the release for as long as the lease lasts; after that it expires by itself."""
        deadline = time.monotonic() + self.settings.analysis_lease_s
        attempt = 0
        while not await self._release(job) and time.monotonic() < deadline:
            attempt += 1
            await asyncio.sleep(exponential(attempt, 0.2, 5.0))

    async def _renew_lease(self, job: Job, run: asyncio.Task[str]) -> None:
        while True:
            await asyncio.sleep(self.settings.analysis_lease_s / 3)
            try:
                renewed = await self.pool.execute(
                    """UPDATE analysis.jobs SET lease_expires_at = now() + make_interval(secs => $3)
                       WHERE queue_id = $1 AND lease_owner = $2 AND status = 'processing'""",
                    uuid.UUID(job.queue_id),
                    self.owner,
                    self.settings.analysis_lease_s,
                )
            except Exception as exc:
                log.warning("analysis.lease_renewal_failed", queue_id=job.queue_id, error=repr(exc))
                continue
            if renewed == "UPDATE 0":
                run.cancel()  # someone else owns the job now, or it was cancelled
                return

    async def _run(self, job: Job) -> str:
        started_at = datetime.now(UTC)
        clock = time.perf_counter()
        try:
            await self._step(job, "fetching primary profile")
            primary, competitors = await self._fetch_all(job)
            await self._step(job, "selecting top reels")
            primary_candidates = transcript_candidates(
                primary[1], self.settings.primary_transcripts, self.settings.transcript_fallback_factor
            )
            competitor_candidates = {
                name: transcript_candidates(
                    reels, self.settings.competitor_transcripts, self.settings.transcript_fallback_factor
                )
                for name, (_, reels) in competitors.items()
            }
            await self._step(job, "fetching transcripts")
            primary_top, competitor_top = await self._select_with_transcripts(
                primary_candidates, competitor_candidates
            )
            await self._step(job, "analysing hooks")
            analysis_input = _analysis_input(job, primary, primary_top, competitors, competitor_top)
            data = await self.engine.analyse(analysis_input)
            await self._step(job, "generating hooks and scripts")
            await self._step(job, "storing results")
            await self._complete(job, started_at, clock, primary, primary_top, competitor_top, data)
            return "completed"
        except (RunAborted, asyncio.CancelledError):
            raise
        except PrimaryUnavailable as exc:
            await self._fail(job, str(exc))
            return "failed"
        except ProviderError as exc:
            await self._fail(job, f"{exc}. Nothing was stored; run the analysis again later.")
            return "failed"
        except AnalysisEngineError as exc:
            await self._fail(job, f"The analysis engine failed: {exc}")
            return "failed"
        except Exception as exc:
            if is_database_outage(exc):
                raise  # not the run's fault: handed back and restarted (_run_with_lease)
            log.exception("analysis.unexpected_error", queue_id=job.queue_id, run=job.run)
            await self._fail(job, f"The analysis failed unexpectedly ({type(exc).__name__}).")
            return "failed"

    async def _fetch_all(
        self, job: Job
    ) -> tuple[
        tuple[ProfileSnapshot, list[ReelSnapshot]], dict[str, tuple[ProfileSnapshot, list[ReelSnapshot]]]
    ]:
        """Primary and competitors in parallel; a competitor that fails drops out alone."""
        since = None
        if job.trigger == "schedule":
            since = datetime.now(UTC) - timedelta(days=self.settings.rerun_lookback_days)
        primary_task = asyncio.create_task(self._fetch_primary(job))
        competitor_tasks = {
            name: asyncio.create_task(self._fetch_competitor(job, name, since)) for name in job.competitors
        }
        try:
            primary = await primary_task
        except BaseException:
            for task in competitor_tasks.values():
                task.cancel()
            await asyncio.gather(*competitor_tasks.values(), return_exceptions=True)
            raise
        await self._step(job, "fetching competitor content")
        results = await asyncio.gather(*competitor_tasks.values())
        return primary, {name: got for name, got in zip(competitor_tasks, results, strict=True) if got}

    async def _fetch_primary(self, job: Job) -> tuple[ProfileSnapshot, list[ReelSnapshot]]:
        name = job.primary_username
        try:
            got = await self._fetch_profile(job, name, "primary", None)
        except AccountNotFound:
            raise PrimaryUnavailable(f"Primary account '{name}' was not found on Instagram.") from None
        except AccountPrivate:
            raise PrimaryUnavailable(
                f"Primary account '{name}' is private, so its reels cannot be analysed."
            ) from None
        return got

    async def _fetch_competitor(
        self, job: Job, name: str, since: datetime | None
    ) -> tuple[ProfileSnapshot, list[ReelSnapshot]] | None:
        await self._emit(
            job,
            CompetitorStatusChanged(queue_id=job.queue_id, run=job.run, username=name, status="processing"),
        )
        try:
            got = await self._fetch_profile(job, name, "competitor", since)
        except (ProviderError, PrimaryUnavailable) as exc:
            await self._emit(
                job,
                CompetitorStatusChanged(
                    queue_id=job.queue_id,
                    run=job.run,
                    username=name,
                    status="failed",
                    error_message=str(exc)[:500],
                ),
            )
            return None
        await self._emit(
            job,
            CompetitorStatusChanged(queue_id=job.queue_id, run=job.run, username=name, status="completed"),
        )
        return got

    async def _fetch_profile(
        self, job: Job, name: str, profile_type: str, since: datetime | None
    ) -> tuple[ProfileSnapshot, list[ReelSnapshot]]:
        profile = await self.provider.get_profile(name)
        if profile.is_private:
            raise AccountPrivate(name)
        reels = await self.provider.get_reels(
            name, limit=self.settings.analysis_reels_per_profile, since=since
        )
        snapshot, scored = profile_snapshot(profile, reels)
        # Fetched content serves every user (the seeds' dual storage): the projector files it too.
        await self._emit(
            job,
            ContentFetched(
                queue_id=job.queue_id,
                run=job.run,
                username=name,
                profile_type=profile_type,
                profile=snapshot,
                reels=scored,
            ),
        )
        return snapshot, scored

    async def _select_with_transcripts(
        self, primary: list[ReelSnapshot], competitors: dict[str, list[ReelSnapshot]]
    ) -> tuple[list[ReelSnapshot], dict[str, list[ReelSnapshot]]]:
        groups = {"": (primary, self.settings.primary_transcripts)}
        groups.update(
            {name: (reels, self.settings.competitor_transcripts) for name, reels in competitors.items()}
        )
        chosen = await asyncio.gather(
            *(self._transcribed(reels, wanted) for reels, wanted in groups.values())
        )
        picked = dict(zip(groups, chosen, strict=True))
        return picked.pop(""), picked

    async def _transcribed(self, candidates: list[ReelSnapshot], wanted: int) -> list[ReelSnapshot]:
        """Fetch transcripts best-first, a batch at a time, until `wanted` reels with speech are found."""
        transcripts: dict[str, str | None] = {}
        offset = 0
        while offset < len(candidates):
            found = sum(1 for t in transcripts.values() if t)
            if found >= wanted:
                break
            batch = candidates[offset : offset + (wanted - found)]
            offset += len(batch)
            transcripts.update(await self._transcripts(batch))
        return pick_with_transcripts(candidates, transcripts, wanted)

    async def _transcripts(self, reels: list[ReelSnapshot]) -> dict[str, str | None]:
        """Stored transcripts in one query; the provider is asked, side by side, only for the rest."""
        rows = await self.pool.fetch(
            "SELECT shortcode, transcript FROM analysis.transcripts WHERE shortcode = ANY($1::text[])",
            [r.shortcode for r in reels],
        )
        known: dict[str, str | None] = {r["shortcode"]: r["transcript"] for r in rows}
        missing = [r for r in reels if r.shortcode not in known]
        fetched = await asyncio.gather(*(self._fetch_transcript(r) for r in missing))
        return known | {r.shortcode: t for r, t in zip(missing, fetched, strict=True)}

    async def _fetch_transcript(self, reel: ReelSnapshot) -> str | None:
        try:
            text = await self.provider.get_transcript(reel.url)
        except ProviderError as exc:
            log.warning("analysis.transcript_unavailable", shortcode=reel.shortcode, error=str(exc))
            return None  # a missing transcript is not worth failing a run over; the caption stands in
        await self.pool.execute(
            """INSERT INTO analysis.transcripts (shortcode, transcript, fetched_at) VALUES ($1, $2, now())
               ON CONFLICT (shortcode) DO UPDATE SET transcript = $2, fetched_at = now()""",
            reel.shortcode,
            text,
        )
        return text

    async def _step(self, job: Job, step: str) -> None:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT cancel_requested, lease_owner FROM analysis.jobs WHERE queue_id = $1",
                uuid.UUID(job.queue_id),
            )
        if row is None or row["lease_owner"] != self.owner:
            raise RunAborted("the lease went to another worker")
        if row["cancel_requested"]:
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "UPDATE analysis.jobs SET status = 'cancelled', lease_owner = NULL WHERE queue_id = $1",
                    uuid.UUID(job.queue_id),
                )
            raise RunAborted("cancelled by the user")
        await self._emit(
            job, ProgressUpdated(queue_id=job.queue_id, run=job.run, step=step, progress=PROGRESS[step])
        )

    async def _emit(self, job: Job, *events: Event, writes: Any = None) -> None:
        # A run's parallel fetches all append to the job's one stream: take turns rather than have
        # them race for the next version (other services' rare appends are still retried by commit).
        async with job.stream_lock, self.pool.acquire() as conn:
            await self.store.commit(
                conn,
                analysis_stream(job.queue_id),
                [NewEvent(event=e) for e in events],
                writes=writes,
                correlation_id=job.correlation_id,
                causation_id=job.causation_id,
            )

    async def _complete(
        self,
        job: Job,
        started_at: datetime,
        clock: float,
        primary: tuple[ProfileSnapshot, list[ReelSnapshot]],
        primary_top: list[ReelSnapshot],
        competitor_top: dict[str, list[ReelSnapshot]],
        data: Any,
    ) -> None:
        completed_at = datetime.now(UTC)
        next_run = (
            completed_at + timedelta(hours=job.rerun_frequency_hours) if job.auto_rerun_enabled else None
        )
        analysed = [
            AnalyzedReel(**r.model_dump(), username=primary[0].username, reel_type="primary")
            for r in primary_top
        ]
        for name, reels in competitor_top.items():
            analysed += [AnalyzedReel(**r.model_dump(), username=name, reel_type="competitor") for r in reels]
        result = AnalysisResult(
            analysis_type=job.analysis_type,
            workflow_version=getattr(self.engine, "version", "local"),
            started_at=started_at,
            completed_at=completed_at,
            processing_time_seconds=round(time.perf_counter() - clock, 3),
            primary_reels_count=len(primary_top),
            competitor_reels_count=sum(len(r) for r in competitor_top.values()),
            transcripts_fetched=sum(1 for r in analysed if r.transcript),
            competitors_analyzed=sorted(competitor_top),
            analyzed_reels=analysed,
            analysis_data=orjson.loads(data.model_dump_json()),
        )

        async def store(conn: asyncpg.Connection) -> None:
            owner = await conn.fetchval(
                "SELECT lease_owner FROM analysis.jobs WHERE queue_id = $1 FOR UPDATE",
                uuid.UUID(job.queue_id),
            )
            if owner != self.owner:
                raise RunAborted("the lease went to another worker before the result was stored")
            fresh = await conn.fetchval(
                """INSERT INTO analysis.results (queue_id, run) VALUES ($1, $2)
                   ON CONFLICT DO NOTHING RETURNING true""",
                uuid.UUID(job.queue_id),
                job.run,
            )
            if not fresh:
                raise RunAborted("this run's result was already stored")
            await conn.execute(
                """UPDATE analysis.jobs SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL,
                          last_completed_at = $2, next_scheduled_run = $3
                   WHERE queue_id = $1""",
                uuid.UUID(job.queue_id),
                completed_at,
                next_run,
            )

        await self._emit(
            job,
            ProgressUpdated(queue_id=job.queue_id, run=job.run, step="completed", progress=100),
            AnalysisCompleted(queue_id=job.queue_id, run=job.run, result=result, next_scheduled_run=next_run),
            writes=store,
        )
        log.info(
            "analysis.completed",
            queue_id=job.queue_id,
            run=job.run,
            seconds=result.processing_time_seconds,
        )

    async def _fail(self, job: Job, message: str) -> None:
        log.warning("analysis.failed", queue_id=job.queue_id, run=job.run, error_message=message)

        async def mark(conn: asyncpg.Connection) -> None:
            await conn.execute(
                """UPDATE analysis.jobs SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL
                   WHERE queue_id = $1 AND lease_owner = $2""",
                uuid.UUID(job.queue_id),
                self.owner,
            )

        await self._emit(
            job, AnalysisFailed(queue_id=job.queue_id, run=job.run, error_message=message[:2000]), writes=mark
        )


def profile_input(snapshot: ProfileSnapshot) -> ProfileInput:
    return ProfileInput(
        username=snapshot.username,
        profile_name=snapshot.profile_name or snapshot.username,
        bio=snapshot.bio or "",
        followers=snapshot.followers,
        median_views=snapshot.median_views,
        mean_views=snapshot.mean_views,
        engagement_rate=snapshot.engagement_rate,
        total_reels=snapshot.total_reels,
    )


def reel_input(username: str, reel: ReelSnapshot) -> ReelInput:
    return ReelInput(
        content_id=reel.content_id,
        shortcode=reel.shortcode,
        url=reel.url,
        username=username,
        caption=reel.description,
        transcript=reel.transcript,
        view_count=reel.view_count,
        like_count=reel.like_count,
        comment_count=reel.comment_count,
        outlier_score=reel.outlier_score,
        engagement_rate=reel.engagement_rate,
        date_posted=reel.date_posted,
    )


def _analysis_input(
    job: Job,
    primary: tuple[ProfileSnapshot, list[ReelSnapshot]],
    primary_top: list[ReelSnapshot],
    competitors: dict[str, tuple[ProfileSnapshot, list[ReelSnapshot]]],
    competitor_top: dict[str, list[ReelSnapshot]],
) -> AnalysisInput:
    return AnalysisInput(
        primary=profile_input(primary[0]),
        primary_reels=[reel_input(primary[0].username, r) for r in primary_top],
        competitors=[
            CompetitorInput(
                profile=profile_input(competitors[name][0]), reels=[reel_input(name, r) for r in reels]
            )
            for name, reels in competitor_top.items()
        ],
        content_strategy=job.content_strategy,
        settings=job.analysis_settings,
    )
