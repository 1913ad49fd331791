"""profile-ingest: the seeds' QueueProcessor. Each ProfileRequested becomes a fetched, scored profile.

A request is claimed with a session advisory lock, so two deliveries of it (a redelivery, or the
original LOW message and its HIGH promotion) are never worked on at once, and a worker killed mid-fetch
releases it with its database session; a delivery that finds it held comes back after a delay, and
finds it done or free. Each step commits its state and its event together.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import orjson
import structlog

from libs.events import Deferred, Envelope, EventStore, NewEvent, WrongExpectedVersion
from libs.events.catalog import (
    Event,
    ProfileIngested,
    ProfileIngestFailed,
    ProfileIngestStarted,
    ProfileRequested,
    ProfileRequestPromoted,
    profile_stream,
)
from libs.events.consumer import Handlers
from libs.instagram import AccountPrivate, InstagramProvider, ProviderError
from libs.scoring.snapshots import profile_snapshot, similar_snapshot
from services.profile_ingest.domain import judge
from services.profile_ingest.settings import IngestSettings

log = structlog.get_logger(__name__)

REQUEST_LOCK_CLASS = 4_201  # advisory-lock namespace of profile requests


class RetryLater(Exception):
    """A transient failure: the consumer re-delivers the request after its backoff delay."""


class ProfileIngestion:
    def __init__(self, store: EventStore, provider: InstagramProvider, settings: IngestSettings) -> None:
        self.store = store
        self.provider = provider
        self.settings = settings

    def handlers(self) -> Handlers:
        return {ProfileRequested: self.on_requested, ProfileRequestPromoted: self.on_requested}

    async def on_requested(self, pool: asyncpg.Pool, envelope: Envelope, event: Event) -> None:
        assert isinstance(event, ProfileRequested | ProfileRequestPromoted)
        key = zlib.crc32(event.request_id.encode()) & 0x7FFFFFFF
        async with pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", REQUEST_LOCK_CLASS, key):
                # Another delivery of it is being worked on. That worker may still lose its message (its
                # channel died in a broker reconnect): this copy comes back later instead of being dropped.
                raise Deferred(f"request {event.request_id} is being ingested elsewhere")
            try:
                await self._ingest(conn, envelope, event)
            finally:
                if not conn.is_closed():
                    await conn.execute("SELECT pg_advisory_unlock($1, $2)", REQUEST_LOCK_CLASS, key)

    async def _ingest(
        self, conn: asyncpg.Connection, envelope: Envelope, event: ProfileRequested | ProfileRequestPromoted
    ) -> None:
        username, request_id = event.username, event.request_id
        row = await conn.fetchrow(
            "SELECT status, attempts FROM ingest.requests WHERE request_id = $1", request_id
        )
        if row is not None and row["status"] in ("completed", "failed"):
            log.info("ingest.already_done", request_id=request_id, status=row["status"])
            return
        attempt = (row["attempts"] if row else 0) + 1
        started = datetime.now(UTC)

        async def mark_started(c: asyncpg.Connection) -> None:
            await c.execute(
                """INSERT INTO ingest.requests (request_id, username, priority, status, attempts,
                                                requested_at, started_at, updated_at)
                   VALUES ($1, $2, $3, 'processing', $4, $5, $6, $6)
                   ON CONFLICT (request_id) DO UPDATE SET status = 'processing', attempts = $4,
                       started_at = coalesce(ingest.requests.started_at, $6), updated_at = $6""",
                request_id,
                username,
                event.priority,
                attempt,
                envelope.occurred_at,
                started,
            )

        await self._commit(
            conn,
            envelope,
            username,
            mark_started,
            ProfileIngestStarted(username=username, request_id=request_id, attempt=attempt),
        )
        clock = time.perf_counter()
        try:
            profile, reels, similar = await self._fetch(username)
        except Exception as exc:
            await self._fail(conn, envelope, event, attempt, exc)
            return
        snapshot, scored = profile_snapshot(profile, reels)
        ingested = ProfileIngested(
            username=username,
            request_id=request_id,
            attempts=attempt,
            duration_ms=int((time.perf_counter() - clock) * 1000),
            profile=snapshot,
            reels=scored,
            similar=similar_snapshot(similar),
        )

        async def store_profile(c: asyncpg.Connection) -> None:
            now = datetime.now(UTC)
            await c.execute(
                """INSERT INTO ingest.profiles (username, profile, fetched_at) VALUES ($1, $2, $3)
                   ON CONFLICT (username) DO UPDATE SET profile = $2, fetched_at = $3""",
                username,
                snapshot.model_dump(mode="json"),
                now,
            )
            await c.executemany(
                """INSERT INTO ingest.reels (content_id, username, reel, fetched_at) VALUES ($1, $2, $3, $4)
                   ON CONFLICT (content_id) DO UPDATE SET reel = $3, fetched_at = $4""",
                [(r.content_id, username, orjson.loads(r.model_dump_json()), now) for r in scored],
            )
            await c.execute(
                """UPDATE ingest.requests SET status = 'completed', last_error = NULL, finished_at = $2,
                          updated_at = $2 WHERE request_id = $1""",
                request_id,
                now,
            )

        await self._commit(conn, envelope, username, store_profile, ingested)
        log.info(
            "ingest.completed",
            username=username,
            request_id=request_id,
            attempts=attempt,
            reels=len(scored),
            duration_ms=ingested.duration_ms,
        )

    async def _fetch(self, username: str) -> tuple:
        """The profile first: an unknown or private account fails there, before any reel is fetched."""
        profile = await self.provider.get_profile(username)
        if profile.is_private:
            raise AccountPrivate(username)
        reels, similar = await asyncio.gather(
            self.provider.get_reels(username, limit=self.settings.ingest_reels_limit), self._similar(username)
        )
        return profile, reels, similar

    async def _similar(self, username: str) -> list:
        """Similar accounts feed the crawler; their absence never fails the profile itself."""
        if not self.settings.ingest_fetch_similar:
            return []
        try:
            return await self.provider.get_similar_accounts(username)
        except ProviderError as exc:
            log.warning("ingest.similar_accounts_unavailable", username=username, error=str(exc))
            return []

    async def _fail(
        self,
        conn: asyncpg.Connection,
        envelope: Envelope,
        event: ProfileRequested | ProfileRequestPromoted,
        attempt: int,
        exc: Exception,
    ) -> None:
        failure = judge(exc)
        will_retry = failure.transient and attempt < self.settings.ingest_max_attempts
        if failure.error_code == "INTERNAL_ERROR":
            log.exception("ingest.unexpected_error", request_id=event.request_id)
        else:
            log.warning(
                "ingest.attempt_failed",
                request_id=event.request_id,
                attempt=attempt,
                error_code=failure.error_code,
                reason=failure.reason,
                will_retry=will_retry,
            )

        async def record(c: asyncpg.Connection) -> None:
            await c.execute(
                """UPDATE ingest.requests SET status = $2, last_error = $3, updated_at = now(),
                          finished_at = CASE WHEN $2 = 'failed' THEN now() END
                   WHERE request_id = $1""",
                event.request_id,
                "pending" if will_retry else "failed",
                failure.reason,
            )

        await self._commit(
            conn,
            envelope,
            event.username,
            record,
            ProfileIngestFailed(
                username=event.username,
                request_id=event.request_id,
                attempts=attempt,
                will_retry=will_retry,
                reason=failure.reason,
                error_code=failure.error_code,
            ),
        )
        if will_retry:
            raise RetryLater(failure.reason)

    async def _commit(
        self,
        conn: asyncpg.Connection,
        cause: Envelope,
        username: str,
        writes: Callable[[asyncpg.Connection], Awaitable[None]],
        event: Event,
    ) -> None:
        try:
            await self.store.commit(
                conn,
                profile_stream(username),
                [NewEvent(event=event)],
                writes=writes,
                correlation_id=cause.correlation_id,
                causation_id=cause.event_id,
            )
        except WrongExpectedVersion:
            raise RetryLater(f"profile-{username} kept changing while recording {event.event_type}") from None
