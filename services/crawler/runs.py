"""The seeds' NetworkCrawler: drives crawl runs under a lease, one discovered account at a time.

A run is claimed from crawler.runs (FOR UPDATE SKIP LOCKED, lease free or expired), so a worker killed
mid-run leaves it to the next claim. Every decision commits in one transaction: the discovery row, the
run's counters, the ProfileRequested on the profile's stream (at the version the decision was taken on)
and the ProfileDiscovered on the run's stream. A resumed run therefore never queues anything twice.

    pending --claim--> running --target/max rounds/no seeds--> completed
                       running --provider outage--> paused --backoff, claim--> running
                       running --no seed at all, or too many outages/errors--> failed
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime

import asyncpg
import structlog

from libs.backoff import exponential
from libs.events import EventStore, NewEvent, WrongExpectedVersion
from libs.events.catalog import (
    CrawlCompleted,
    CrawlPaused,
    CrawlRoundCompleted,
    CrawlStarted,
    Event,
    ProfileDiscovered,
    ProfileRequested,
    crawl_stream,
    profile_stream,
)
from libs.events.db import is_database_outage
from libs.instagram import (
    AccountNotFound,
    AccountPrivate,
    InstagramProvider,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    SimilarAccount,
)
from libs.leases import INCARNATION, lease_owner
from libs.profiles import fold
from libs.usernames import normalise_username
from services.crawler import metrics, repository
from services.crawler.domain import (
    Outcome,
    duplicate_reason,
    finish_reason,
    needs_profile_lookup,
    next_given_seed,
    pause_delay,
    quality_reason,
    round_should_stop,
)
from services.crawler.repository import LeaseLost, Run
from services.crawler.settings import CrawlerSettings

log = structlog.get_logger(__name__)

_DECISION_TRIES = 5


class ProviderOutage(Exception):
    """The provider cannot answer now (after the client's own retries): pause the run, do not fail it."""


def _outage(exc: ProviderError) -> bool:
    return isinstance(exc, ProviderUnavailable | ProviderRejected)


class CrawlRunner:
    def __init__(
        self,
        store: EventStore,
        provider: InstagramProvider,
        settings: CrawlerSettings,
        worker: str | None = None,
    ) -> None:
        self.store = store
        self.provider = provider
        self.settings = settings
        self.worker = worker or lease_owner(settings.worker_id)
        self._driving: set[asyncio.Task[None]] = set()
        self._stopping = False

    # The loop

    async def run_loop(self, pool: asyncpg.Pool) -> None:
        """Claim due runs up to the concurrency limit and drive each in its own task."""
        taken = await repository.take_back_previous_leases(pool, self.settings.worker_id, INCARNATION)
        if taken:
            log.info("crawl.previous_leases_released", runs=taken)
        while not self._stopping:
            while len(self._driving) < self.settings.crawler_concurrency and not self._stopping:
                try:
                    run = await self._claim(pool)
                except Exception as exc:
                    log.warning("crawl.claim_failed", error=repr(exc))
                    break
                if run is None:
                    break
                task = asyncio.create_task(self._drive_guarded(pool, run), name=f"crawl-{run.id}")
                self._driving.add(task)
                task.add_done_callback(self._driving.discard)
            await asyncio.sleep(self.settings.crawler_poll_interval_s)

    async def stop(self) -> None:
        """Graceful stop: runs in hand give their lease back (resumed at once elsewhere), then the client closes."""
        self._stopping = True
        driving = list(self._driving)
        for task in driving:
            task.cancel()
        await asyncio.gather(*driving, return_exceptions=True)
        await self.provider.close()

    async def _claim(self, pool: asyncpg.Pool) -> Run | None:
        async with pool.acquire() as conn, conn.transaction():
            claimed = await repository.claim_next(conn, self.worker, self.settings.crawler_lease_s)
            if claimed is None:
                return None
            run, previous = claimed
            resumed = previous != "pending"
            await self._append(
                conn,
                run,
                CrawlStarted(
                    run_id=run.id,
                    seeds=list(run.config.seed_usernames),
                    automatic_seeds=not run.config.seed_usernames,
                    resumed=resumed,
                    worker=self.worker,
                ),
            )
        metrics.RUNS.labels("resumed" if resumed else "started").inc()
        log.info("crawl.claimed", run_id=run.id, previous_status=previous, worker=self.worker)
        return run

    async def _drive_guarded(self, pool: asyncpg.Pool, run: Run) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(pool, run))
        try:
            with structlog.contextvars.bound_contextvars(run_id=run.id):
                await self._drive(pool, run)
        except LeaseLost:
            log.warning("crawl.lease_lost", run_id=run.id)
        except ProviderOutage as exc:
            await self._guard(self._pause(pool, run, str(exc)))
        except asyncio.CancelledError:
            # A graceful stop: hand the run over at once rather than after the lease.
            with contextlib.suppress(Exception):
                await repository.release_lease(pool, run.run_id, self.worker)
            raise
        except Exception as exc:
            if is_database_outage(exc):
                # Hand the run back once the database answers again, so it resumes at once.
                log.warning("crawl.database_unavailable", run_id=run.id, error=repr(exc))
                await self._release_when_reachable(pool, run)
            else:
                log.exception("crawl.unexpected_error", run_id=run.id)
                await self._guard(self._error(pool, run, exc))
        finally:
            heartbeat.cancel()

    async def _release_when_reachable(self, pool: asyncpg.Pool, run: Run) -> None:
        """Retry the release for as long as the lease lasts; after that it expires by itself."""
        deadline = time.monotonic() + self.settings.crawler_lease_s
        attempt = 0
        while True:
            try:
                await repository.release_lease(pool, run.run_id, self.worker)
                return
            except Exception as exc:
                attempt += 1
                if time.monotonic() >= deadline:
                    log.warning("crawl.release_failed", run_id=run.id, error=repr(exc))
                    return
                await asyncio.sleep(exponential(attempt, 0.2, 5.0))

    async def _guard(self, step: Awaitable[None]) -> None:
        """Recording a pause or an error may itself fail (lease gone, database down): the lease then decides."""
        try:
            await step
        except LeaseLost:
            log.warning("crawl.lease_lost")
        except Exception as exc:
            log.warning("crawl.record_failed", error=repr(exc))

    async def _heartbeat(self, pool: asyncpg.Pool, run: Run) -> None:
        """A slow provider call must not let the lease lapse under a live worker."""
        while True:
            await asyncio.sleep(self.settings.crawler_lease_s / 3)
            try:
                if not await repository.renew_lease(
                    pool, run.run_id, self.worker, self.settings.crawler_lease_s
                ):
                    return  # taken over, or finished: the next fenced write tells the driver
            except Exception as exc:
                log.warning("crawl.lease_renewal_failed", run_id=run.id, error=repr(exc))

    # One run

    async def _drive(self, pool: asyncpg.Pool, run: Run) -> None:
        config, progress = run.config, run.progress
        async with pool.acquire() as conn:
            seen = await repository.seen_in_run(conn, run.run_id)
        while True:
            if progress.round_seed is None:
                reason = finish_reason(config, progress)
                if reason is not None:
                    await self._finish(pool, run, "completed", reason)
                    return
                seed = await self._next_seed(pool, run)
                if seed is None:
                    if progress.seeds_used:
                        await self._finish(pool, run, "completed", "no_seeds_left")
                    elif progress.seeds_skipped:
                        await self._finish(pool, run, "failed", "None of the seed profiles could be crawled")
                    else:
                        await self._finish(
                            pool,
                            run,
                            "failed",
                            "No seed profiles: give seed_usernames or ingest profiles first",
                        )
                    return
                similar = await self._similar(pool, run, seed, in_round=False)
                if similar is None:
                    continue
                await self._start_round(pool, run, seed)
            else:
                seed = progress.round_seed
                similar = await self._similar(pool, run, seed, in_round=True) or []
            await self._crawl_round(pool, run, seed, similar, seen)
            await self._finish_round(pool, run)

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
        self, pool: asyncpg.Pool, run: Run, seed: str, *, in_round: bool
    ) -> Sequence[SimilarAccount] | None:
        """The seed's similar accounts; None when the seed cannot be crawled (it is skipped, not retried)."""
        try:
            return await self.provider.get_similar_accounts(seed)
        except ProviderError as exc:
            if _outage(exc):
                raise ProviderOutage(f"similar accounts of {seed}: {exc}") from exc
            gone = isinstance(exc, AccountNotFound | AccountPrivate)
            log.warning("crawl.seed_skipped", seed=seed, reason=str(exc))
            metrics.SEEDS_SKIPPED.labels(exc.outcome).inc()
            if in_round:
                return None  # the round ends with what it found before
            async with pool.acquire() as conn, conn.transaction():
                await self._lock(conn, run)
                await repository.skip_seed(conn, run.run_id, seed, gone=gone)
            run.progress.seeds_skipped.append(seed)
            return None

    async def _start_round(self, pool: asyncpg.Pool, run: Run, seed: str) -> None:
        progress = run.progress
        async with pool.acquire() as conn, conn.transaction():
            await self._lock(conn, run)
            await repository.start_round(conn, run.run_id, progress.round + 1, seed, datetime.now(UTC))
        progress.round += 1
        progress.round_seed = seed
        progress.seeds_used.append(seed)
        log.info("crawl.round_started", run_id=run.id, round=progress.round, seed=seed)

    async def _crawl_round(
        self, pool: asyncpg.Pool, run: Run, seed: str, similar: Sequence[SimilarAccount], seen: set[str]
    ) -> None:
        async with pool.acquire() as conn:
            queued = await repository.queued_this_round(conn, run.run_id, run.progress.round)
        for account in similar:
            if round_should_stop(run.config, run.progress, queued):
                return
            name = normalise_username(account.username)
            if name is None or name == seed or name in seen:
                continue  # within a run an account is considered once
            outcome = await self._discover(pool, run, seed, name, account)
            seen.add(name)
            if outcome == "queued":
                queued += 1

    async def _discover(
        self, pool: asyncpg.Pool, run: Run, seed: str, name: str, account: SimilarAccount
    ) -> Outcome:
        """Decide on one account against its profile stream; a concurrent request there means decide again."""
        config, progress = run.config, run.progress
        quality: tuple[int | None, str | None] | None = None
        for _ in range(_DECISION_TRIES):
            async with pool.acquire() as conn:
                profile = fold(await self.store.read_stream(conn, profile_stream(name)))
                earlier = await repository.queued_by_earlier_run(conn, name, run.run_id)
            is_seed = name in config.seed_usernames or name in progress.seeds_used
            reason = duplicate_reason(profile.status, queued_by_earlier_run=earlier, is_seed=is_seed)
            followers = account.followers
            outcome: Outcome = "skipped_duplicate"
            if reason is None:
                quality = quality or await self._quality(name, account, run)
                followers, reason = quality
                outcome = "skipped_low_quality" if reason else "queued"
            try:
                await self._record(pool, run, seed, name, outcome, reason, followers, profile.version)
            except WrongExpectedVersion:
                # A user (or another crawl) asked for this profile meanwhile: decide again.
                log.info("crawl.decision_conflict", username=name)
                continue
            return outcome
        raise RuntimeError(f"profile-{name} kept changing under the crawler")

    async def _quality(self, name: str, account: SimilarAccount, run: Run) -> tuple[int | None, str | None]:
        followers, private = account.followers, account.is_private
        if needs_profile_lookup(followers, private, run.config):
            try:
                profile = await self.provider.get_profile(name)
            except AccountNotFound:
                return None, "not_found"
            except AccountPrivate:
                return None, "private"
            except ProviderError as exc:
                if _outage(exc):
                    raise ProviderOutage(f"profile of {name}: {exc}") from exc
                return None, "profile_unreadable"
            followers, private = profile.followers, profile.is_private
        return followers, quality_reason(followers, private, run.config)

    async def _record(
        self, pool: asyncpg.Pool, run: Run, seed: str, name: str, outcome: Outcome, reason: str | None,
        followers: int | None, profile_version: int,
    ) -> None:  # fmt: skip
        round_ = run.progress.round
        request_id = secrets.token_hex(4) if outcome == "queued" else None
        async with pool.acquire() as conn, conn.transaction():
            await self._lock(conn, run)
            await repository.record_discovery(
                conn, run.run_id, username=name, round_=round_, seed=seed, outcome=outcome, reason=reason,
                request_id=request_id,
            )  # fmt: skip
            if request_id is not None:
                requested = ProfileRequested(
                    username=name,
                    source="crawler",
                    priority="LOW",
                    request_id=request_id,
                    crawl_run_id=run.id,
                )
                await self.store.append(
                    conn,
                    profile_stream(name),
                    [NewEvent(event=requested)],
                    expected_version=profile_version,
                    correlation_id=run.correlation_id,
                    causation_id=run.causation_id,
                )
            await self._append(
                conn,
                run,
                ProfileDiscovered(
                    run_id=run.id, username=name, seed=seed, round=round_, outcome=outcome, reason=reason,
                    request_id=request_id, followers=followers,
                ),
            )  # fmt: skip
        run.progress.count(outcome)
        metrics.PROFILES_DISCOVERED.labels(outcome).inc()
        log.info("crawl.profile_discovered", username=name, seed=seed, outcome=outcome, reason=reason)

    async def _finish_round(self, pool: asyncpg.Pool, run: Run) -> None:
        progress = run.progress
        assert progress.round_seed is not None
        async with pool.acquire() as conn, conn.transaction():
            await self._lock(conn, run)
            counts = await repository.round_counts(conn, run.run_id, progress.round)
            await repository.finish_round(conn, run.run_id, progress.rounds_completed + 1)
            await self._append(
                conn,
                run,
                CrawlRoundCompleted(
                    run_id=run.id,
                    round=progress.round,
                    seed=progress.round_seed,
                    discovered=sum(counts.values()),
                    queued=counts.get("queued", 0),
                    skipped_duplicates=counts.get("skipped_duplicate", 0),
                    skipped_low_quality=counts.get("skipped_low_quality", 0),
                ),
            )
        log.info("crawl.round_completed", run_id=run.id, round=progress.round, **counts)
        progress.rounds_completed += 1
        progress.round_seed = None

    async def _finish(self, pool: asyncpg.Pool, run: Run, status: str, reason: str) -> None:
        progress = run.progress
        async with pool.acquire() as conn, conn.transaction():
            await self._lock(conn, run)
            await repository.finish(conn, run.run_id, status, None if status == "completed" else reason)
            await self._append(conn, run, self._completed(run, status, reason))
        metrics.RUNS.labels(status).inc()
        log.info("crawl.finished", run_id=run.id, status=status, reason=reason, queued=progress.queued)

    def _completed(self, run: Run, status: str, reason: str) -> CrawlCompleted:
        p = run.progress
        return CrawlCompleted(
            run_id=run.id,
            status=status,  # type: ignore[arg-type]
            rounds_completed=p.rounds_completed,
            queued=p.queued,
            reason=reason,
            discovered=p.discovered,
            skipped_duplicates=p.skipped_duplicates,
            skipped_low_quality=p.skipped_low_quality,
        )

    async def _pause(self, pool: asyncpg.Pool, run: Run, reason: str) -> None:
        s = self.settings
        async with pool.acquire() as conn, conn.transaction():
            state = await self._lock(conn, run)
            pauses = state["pauses"] + 1
            if pauses > s.crawler_max_pauses:
                failure = f"The provider stayed unavailable through {s.crawler_max_pauses} pauses: {reason}"
                await repository.finish(conn, run.run_id, "failed", failure)
                await self._append(conn, run, self._completed(run, "failed", failure))
                metrics.RUNS.labels("failed").inc()
                log.error("crawl.failed_provider_unavailable", run_id=run.id, reason=reason)
                return
            resume_at = datetime.now(UTC) + pause_delay(pauses, s.crawler_pause_base_s, s.crawler_pause_max_s)
            await repository.pause(conn, run.run_id, reason, resume_at)
            await self._append(
                conn,
                run,
                CrawlPaused(run_id=run.id, reason=reason[:2000], resume_at=resume_at, pauses=pauses),
            )
        metrics.RUNS.labels("paused").inc()
        log.warning("crawl.paused", run_id=run.id, reason=reason, resume_at=resume_at.isoformat())

    async def _error(self, pool: asyncpg.Pool, run: Run, exc: Exception) -> None:
        s = self.settings
        error = f"{type(exc).__name__}: {exc}"[:2000]
        async with pool.acquire() as conn, conn.transaction():
            state = await self._lock(conn, run)
            if state["errors"] + 1 >= s.crawler_max_errors:
                failure = f"The crawl failed unexpectedly ({error})"
                await repository.finish(conn, run.run_id, "failed", failure)
                await self._append(conn, run, self._completed(run, "failed", failure))
                metrics.RUNS.labels("failed").inc()
                return
            retry_at = datetime.now(UTC) + pause_delay(
                state["errors"] + 1, s.crawler_pause_base_s, s.crawler_pause_max_s
            )
            await repository.back_off(conn, run.run_id, error, retry_at)

    # Writes

    async def _lock(self, conn: asyncpg.Connection, run: Run) -> asyncpg.Record:
        return await repository.lock_run(conn, run.run_id, self.worker, self.settings.crawler_lease_s)

    async def _append(self, conn: asyncpg.Connection, run: Run, event: Event) -> None:
        """The run's own stream; its row is locked by the caller, so nobody else appends meanwhile."""
        await self.store.append(
            conn,
            crawl_stream(run.id),
            [NewEvent(event=event)],
            expected_version=None,
            correlation_id=run.correlation_id,
            causation_id=run.causation_id,
        )
