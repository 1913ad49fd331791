"""One round of a run, one discovered account at a time: is it new, good enough, and the decision
committed in one transaction (the discovery row, the run's counters, the ProfileRequested on the profile's
stream at the version the decision was taken on, the ProfileDiscovered on the run's stream). A resumed
run therefore never queues anything twice, and a user asking for the profile meanwhile wins."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import structlog

from libs.events import EventStore, NewEvent, WrongExpectedVersion
from libs.events.catalog import Event, ProfileDiscovered, ProfileRequested, crawl_stream, profile_stream
from libs.events.store import retry_on_conflict
from libs.instagram import AccountNotFound, AccountPrivate, InstagramProvider, ProviderError, SimilarAccount
from libs.leases import Lease
from libs.profiles import NOT_FOLDED, fold
from libs.usernames import normalise_username
from services.crawler import metrics, repository
from services.crawler.domain import (
    Outcome,
    Run,
    RunConfig,
    duplicate_reason,
    is_provider_outage,
    needs_profile_lookup,
    quality_reason,
    round_should_stop,
)

log = structlog.get_logger(__name__)


class ProviderOutage(Exception):
    """The provider cannot answer now (after the client's own retries): pause the run, do not fail it."""


@dataclass(frozen=True)
class HeldRun:
    """A claimed run under its lease: each write locks its row through the fence, then appends to its
    stream (nobody else appends meanwhile)."""

    run: Run
    lease: Lease
    store: EventStore

    async def lock(self, conn: asyncpg.Connection) -> asyncpg.Record:
        """The run's row, locked and still ours (else LeaseLost), its lease extended."""
        return await self.lease.fence(conn)

    async def append(self, conn: asyncpg.Connection, event: Event) -> None:
        await self.store.append(
            conn,
            crawl_stream(self.run.id),
            [NewEvent(event=event)],
            expected_version=None,
            correlation_id=self.run.correlation_id,
            causation_id=self.run.causation_id,
        )


class Discovery:
    def __init__(self, store: EventStore, provider: InstagramProvider) -> None:
        self.store = store
        self.provider = provider

    async def crawl_round(
        self, pool: asyncpg.Pool, held: HeldRun, seed: str, similar: Sequence[SimilarAccount], seen: set[str]
    ) -> None:
        run = held.run
        async with pool.acquire() as conn:
            queued = await repository.queued_this_round(conn, run.run_id, run.progress.round)
        for account in similar:
            if round_should_stop(run.config, run.progress, queued):
                return
            name = normalise_username(account.username)
            if name is None or name == seed or name in seen:
                continue  # within a run an account is considered once
            outcome = await self._discover(pool, held, seed, name, account)
            seen.add(name)
            if outcome == "queued":
                queued += 1

    async def _discover(
        self, pool: asyncpg.Pool, held: HeldRun, seed: str, name: str, account: SimilarAccount
    ) -> Outcome:
        """Decide on one account against its profile stream; a concurrent request there means decide again."""
        config, progress = held.run.config, held.run.progress
        quality: tuple[int | None, str | None] | None = None

        async def decide() -> Outcome:
            nonlocal quality
            async with pool.acquire() as conn:
                profile = fold(await self.store.read_stream(conn, profile_stream(name), without=NOT_FOLDED))
                earlier = await repository.queued_by_earlier_run(conn, name, held.run.run_id)
            is_seed = name in config.seed_usernames or name in progress.seeds_used
            reason = duplicate_reason(profile.status, queued_by_earlier_run=earlier, is_seed=is_seed)
            followers = account.followers
            outcome: Outcome = "skipped_duplicate"
            if reason is None:
                quality = quality or await self._quality(name, account, config)
                followers, reason = quality
                outcome = "skipped_low_quality" if reason else "queued"
            try:
                await self._record(pool, held, seed, name, outcome, reason, followers, profile.version)
            except WrongExpectedVersion:
                # A user (or another crawl) asked for this profile meanwhile: decide again.
                log.info("crawl.decision_conflict", username=name)
                raise
            return outcome

        return await retry_on_conflict(decide)

    async def _quality(
        self, name: str, account: SimilarAccount, config: RunConfig
    ) -> tuple[int | None, str | None]:
        followers, private = account.followers, account.is_private
        if needs_profile_lookup(followers, private, config):
            try:
                profile = await self.provider.get_profile(name)
            except AccountNotFound:
                return None, "not_found"
            except AccountPrivate:
                return None, "private"
            except ProviderError as exc:
                if is_provider_outage(exc):
                    raise ProviderOutage(f"profile of {name}: {exc}") from exc
                return None, "profile_unreadable"
            followers, private = profile.followers, profile.is_private
        return followers, quality_reason(followers, private, config)

    async def _record(
        self, pool: asyncpg.Pool, held: HeldRun, seed: str, name: str, outcome: Outcome, reason: str | None,
        followers: int | None, profile_version: int,
    ) -> None:  # fmt: skip
        run = held.run
        round_ = run.progress.round
        request_id = secrets.token_hex(4) if outcome == "queued" else None
        async with pool.acquire() as conn, conn.transaction():
            await held.lock(conn)
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
            await held.append(
                conn,
                ProfileDiscovered(
                    run_id=run.id, username=name, seed=seed, round=round_, outcome=outcome, reason=reason,
                    request_id=request_id, followers=followers,
                ),
            )  # fmt: skip
        run.progress.count(outcome)
        metrics.PROFILES_DISCOVERED.labels(outcome).inc()
        log.info("crawl.profile_discovered", username=name, seed=seed, outcome=outcome, reason=reason)
