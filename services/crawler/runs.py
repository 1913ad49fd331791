"""The seeds' NetworkCrawler: drives crawl runs under a lease (libs.leases), one round at a time.

A run is claimed from crawler.runs (FOR UPDATE SKIP LOCKED, lease free or expired) together with its
CrawlStarted, so a worker killed mid-run leaves it to the next claim, and a restarted replica takes its
own back at once. Every write is fenced by the lease; a lost lease cancels the drive at once. The
accounts of a round are decided in services.crawler.discovery.

    pending --claim--> running --target/max rounds/no seeds--> completed
                       running --provider outage--> paused --backoff, claim--> running
                       running --no seed at all, or too many outages/errors--> failed
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import asyncpg
import structlog

from libs.events import EventStore
from libs.events.catalog import CrawlPaused, CrawlStarted
from libs.events.db import is_database_outage
from libs.instagram import AccountNotFound, AccountPrivate, InstagramProvider, ProviderError, SimilarAccount
from libs.leases import ClaimLoop, Lease, LeaseLost, LeaseTable, lease_owner
from services.crawler import metrics, repository
from services.crawler.discovery import Discovery, HeldRun, ProviderOutage
from services.crawler.domain import (
    Ending,
    Run,
    crawl_completed,
    error_failure,
    finish_reason,
    is_provider_outage,
    next_given_seed,
    out_of_seeds,
    outage_failure,
    pause_delay,
    round_completed,
)
from services.crawler.settings import CrawlerSettings

log = structlog.get_logger(__name__)

RUNS = LeaseTable("crawler.runs", key="run_id", held="status = 'running'")


class CrawlRunner:
    def __init__(
        self,
        store: EventStore,
        provider: InstagramProvider,
        settings: CrawlerSettings,
        pool: Callable[[], asyncpg.Pool],
        worker: str | None = None,
    ) -> None:
        self.store = store
        self.provider = provider
        self.settings = settings
        self.pool = pool
        self.worker = worker or lease_owner(settings.worker_id)
        self.discovery = Discovery(store, provider)
        self.claims: ClaimLoop[HeldRun] = ClaimLoop(
            "crawl-runs",
            self._claim,
            self._drive,
            concurrency=settings.crawler_concurrency,
            poll_interval_s=settings.crawler_poll_interval_s,
        )

    async def run(self) -> None:
        """Take back the runs this replica drove before it restarted, then claim and drive until stopped."""
        taken = await RUNS.take_back(self.pool(), self.settings.worker_id)
        if taken:
            log.info("crawl.previous_leases_released", runs=taken)
        await self.claims.run()

    async def stop(self) -> None:
        """Graceful stop: runs in hand give their lease back (resumed at once elsewhere), then the client closes."""
        await self.claims.stop()
        await self.provider.close()

    async def _claim(self) -> HeldRun | None:
        lease_s = self.settings.crawler_lease_s
        async with self.pool().acquire() as conn, conn.transaction():
            claimed = await repository.claim_next(conn, self.worker, lease_s)
            if claimed is None:
                return None
            run, previous = claimed
            held = HeldRun(run, Lease(RUNS, run.run_id, self.worker, lease_s), self.store)
            resumed = previous != "pending"
            seeds = list(run.config.seed_usernames)
            await held.append(
                conn,
                CrawlStarted(
                    run_id=run.id, seeds=seeds, automatic_seeds=not seeds, resumed=resumed, worker=self.worker
                ),
            )
        metrics.RUNS.labels("resumed" if resumed else "started").inc()
        log.info("crawl.claimed", run_id=run.id, previous_status=previous, worker=self.worker)
        return held

    async def _drive(self, held: HeldRun) -> None:
        pool, run = self.pool(), held.run
        try:
            with structlog.contextvars.bound_contextvars(run_id=run.id):
                await held.lease.hold(pool, self._rounds(pool, held))
        except LeaseLost:
            log.warning("crawl.lease_lost", run_id=run.id)
        except ProviderOutage as exc:
            await self._guard(self._pause(pool, held, str(exc)))
        except asyncio.CancelledError:
            # A graceful stop: hand the run over at once rather than after the lease.
            with contextlib.suppress(Exception):
                await RUNS.release(pool, run.run_id, self.worker)
            raise
        except Exception as exc:
            if is_database_outage(exc):
                # Hand the run back once the database answers again, so it resumes at once.
                log.warning("crawl.database_unavailable", run_id=run.id, error=repr(exc))
                await held.lease.release_when_reachable(pool)
            else:
                log.exception("crawl.unexpected_error", run_id=run.id)
                await self._guard(self._error(pool, held, exc))

    async def _guard(self, step: Awaitable[None]) -> None:
        """Recording a pause or an error may itself fail (lease gone, database down): the lease then decides."""
        try:
            await step
        except LeaseLost:
            log.warning("crawl.lease_lost")
        except Exception as exc:
            log.warning("crawl.record_failed", error=repr(exc))

    async def _rounds(self, pool: asyncpg.Pool, held: HeldRun) -> None:
        config, progress = held.run.config, held.run.progress
        async with pool.acquire() as conn:
            seen = await repository.seen_in_run(conn, held.run.run_id)
        while True:
            if progress.round_seed is None:
                reason = finish_reason(config, progress)
                if reason is not None:
                    await self._finish(pool, held, "completed", reason)
                    return
                seed = await self._next_seed(pool, held.run)
                if seed is None:
                    await self._finish(pool, held, *out_of_seeds(progress))
                    return
                similar = await self._similar(pool, held, seed, in_round=False)
                if similar is None:
                    continue
                await self._start_round(pool, held, seed)
            else:
                seed = progress.round_seed
                similar = await self._similar(pool, held, seed, in_round=True) or []
            await self.discovery.crawl_round(pool, held, seed, similar, seen)
            await self._finish_round(pool, held, seed)

    async def _next_seed(self, pool: asyncpg.Pool, run: Run) -> str | None:
        """The given seeds in order, else ingested profiles; then profiles this run queued (one step out)."""
        progress = run.progress
        if run.config.seed_usernames:
            seed = next_given_seed(run.config, progress)
            if seed is not None:
                return seed
        tried = [*progress.seeds_used, *progress.seeds_skipped]
        async with pool.acquire() as conn:
            if not run.config.seed_usernames:
                seed = await repository.next_automatic_seed(
                    conn, tried, self.settings.crawler_seed_cooldown_h
                )
                if seed is not None:
                    return seed
            return await repository.next_frontier_seed(conn, run.run_id, tried)

    async def _similar(
        self, pool: asyncpg.Pool, held: HeldRun, seed: str, *, in_round: bool
    ) -> Sequence[SimilarAccount] | None:
        """The seed's similar accounts; None when the seed cannot be crawled (it is skipped, not retried)."""
        try:
            return await self.provider.get_similar_accounts(seed)
        except ProviderError as exc:
            if is_provider_outage(exc):
                raise ProviderOutage(f"similar accounts of {seed}: {exc}") from exc
            log.warning("crawl.seed_skipped", seed=seed, reason=str(exc))
            metrics.SEEDS_SKIPPED.labels(exc.outcome).inc()
            if in_round:
                return None  # the round ends with what it found before
            gone = isinstance(exc, AccountNotFound | AccountPrivate)
            async with pool.acquire() as conn, conn.transaction():
                await held.lock(conn)
                await repository.skip_seed(conn, held.run.run_id, seed, gone=gone)
            held.run.progress.seeds_skipped.append(seed)
            return None

    async def _start_round(self, pool: asyncpg.Pool, held: HeldRun, seed: str) -> None:
        progress = held.run.progress
        async with pool.acquire() as conn, conn.transaction():
            await held.lock(conn)
            await repository.start_round(conn, held.run.run_id, progress.round + 1, seed, datetime.now(UTC))
        progress.round += 1
        progress.round_seed = seed
        progress.seeds_used.append(seed)
        log.info("crawl.round_started", run_id=held.run.id, round=progress.round, seed=seed)

    async def _finish_round(self, pool: asyncpg.Pool, held: HeldRun, seed: str) -> None:
        run, progress = held.run, held.run.progress
        async with pool.acquire() as conn, conn.transaction():
            await held.lock(conn)
            counts = await repository.round_counts(conn, run.run_id, progress.round)
            await repository.finish_round(conn, run.run_id, progress.rounds_completed + 1)
            await held.append(conn, round_completed(run.id, progress.round, seed, counts))
        log.info("crawl.round_completed", run_id=run.id, round=progress.round, **counts)
        progress.rounds_completed += 1
        progress.round_seed = None

    async def _finish(self, pool: asyncpg.Pool, held: HeldRun, status: Ending, reason: str) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await held.lock(conn)
            await self._end(conn, held, status, reason)
        metrics.RUNS.labels(status).inc()
        log.info(
            "crawl.finished",
            run_id=held.run.id,
            status=status,
            reason=reason,
            queued=held.run.progress.queued,
        )

    async def _end(self, conn: asyncpg.Connection, held: HeldRun, status: Ending, reason: str) -> None:
        """The run's last write (its row locked by the caller): its status and its CrawlCompleted."""
        run = held.run
        await repository.finish(conn, run.run_id, status, None if status == "completed" else reason)
        await held.append(conn, crawl_completed(run.id, run.progress, status, reason))

    async def _pause(self, pool: asyncpg.Pool, held: HeldRun, reason: str) -> None:
        s, run = self.settings, held.run
        async with pool.acquire() as conn, conn.transaction():
            pauses = (await held.lock(conn))["pauses"] + 1
            failure = outage_failure(pauses, s.crawler_max_pauses, reason)
            if failure is None:
                delay = pause_delay(pauses, s.crawler_pause_base_s, s.crawler_pause_max_s)
                resume_at = datetime.now(UTC) + delay
                await repository.pause(conn, run.run_id, reason, resume_at)
                await held.append(
                    conn, CrawlPaused(run_id=run.id, reason=reason[:2000], resume_at=resume_at, pauses=pauses)
                )
            else:
                await self._end(conn, held, "failed", failure)
        if failure is None:
            metrics.RUNS.labels("paused").inc()
            log.warning("crawl.paused", run_id=run.id, reason=reason, resume_at=resume_at.isoformat())
        else:
            metrics.RUNS.labels("failed").inc()
            log.error("crawl.failed_provider_unavailable", run_id=run.id, reason=reason)

    async def _error(self, pool: asyncpg.Pool, held: HeldRun, exc: Exception) -> None:
        s, run = self.settings, held.run
        error = f"{type(exc).__name__}: {exc}"[:2000]
        async with pool.acquire() as conn, conn.transaction():
            errors = (await held.lock(conn))["errors"] + 1
            failure = error_failure(errors, s.crawler_max_errors, error)
            if failure is None:
                retry_at = datetime.now(UTC) + pause_delay(
                    errors, s.crawler_pause_base_s, s.crawler_pause_max_s
                )
                await repository.back_off(conn, run.run_id, error, retry_at)
            else:
                await self._end(conn, held, "failed", failure)
        if failure is not None:
            metrics.RUNS.labels("failed").inc()
