"""profile-ingest's copies of the images a fetch names: the profile image and the reel thumbnails of every
ProfileIngested (and of every profile an analysis fetched, ContentFetched), whose provider URLs expire.

A consumer of its own (profile-ingest-media), at low priority: no download starts while this process has
HIGH or MEDIUM ingestion in hand (the LOW lane's gate), and at most MEDIA_CONCURRENCY run at once. Each
image is fetched by downloads.py (allowed hosts only, SSRF-checked, size and type limits), stored under
its content-addressed key, and announced by a MediaStored on media-<username>, committed with
ingest.media's record of it. The same URL again is not fetched; the same bytes again are neither stored
nor announced. A refused image (403, not an image, too large, a host not allowed) is recorded and not
tried again for that URL; a transient failure sends the message round the retry ladder, where the
images already copied are skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import asyncpg
import structlog
from prometheus_client import Counter

from libs.blobs import BlobStore, BlobStoreUnavailable, media_key
from libs.events import Envelope, EventStore, NewEvent
from libs.events.catalog import ContentFetched, Event, ProfileIngested, media_stream
from libs.events.store import retry_on_conflict
from services.profile_ingest import domain, repository
from services.profile_ingest.domain import MediaItem
from services.profile_ingest.downloads import ImageFetcher, ImageRefused
from services.profile_ingest.lanes import HighFirst

log = structlog.get_logger(__name__)

CONSUMER = "profile-ingest-media"

STORED = Counter("viralspot_media_stored_total", "Images copied into the media store", ["kind"])
STORED_BYTES = Counter("viralspot_media_stored_bytes_total", "Bytes of the images copied", ["kind"])
UNCHANGED = Counter(
    "viralspot_media_unchanged_total", "Images fetched again from a new URL whose bytes were stored", ["kind"]
)
FAILED = Counter("viralspot_media_failed_total", "Images not copied, by why", ["kind", "reason"])


class CopyAgain(Exception):
    """Some images failed for a passing reason: the message comes back after its backoff delay."""


@dataclass
class MediaCopier:
    """What the handler works with, given at wiring (libs.events.consumer.bind)."""

    store: EventStore
    fetcher: ImageFetcher
    blobs: BlobStore
    gate: HighFirst
    concurrency: int
    _slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrency)

    async def copy(self, pool: asyncpg.Pool, cause: Envelope, item: MediaItem) -> bool:
        """Copies one image; False when it failed for a passing reason and is worth another try."""
        async with self._slots:
            await self.gate.wait_open()
            try:
                image = await self.fetcher.fetch(item.url)
            except ImageRefused as refused:
                FAILED.labels(item.kind, refused.reason).inc()
                log.info("media.refused", kind=item.kind, reason=refused.reason, detail=str(refused))
                if not refused.transient:
                    async with pool.acquire() as conn:
                        await repository.record_media_refused(
                            conn, kind=item.kind, owner=item.owner, username=item.username,
                            source_url=item.url, reason=f"{refused.reason}: {refused}"[:500],
                        )  # fmt: skip
                return not refused.transient
        key = media_key(image.data, image.content_type)
        try:
            if not await self.blobs.exists(key):
                await self.blobs.put(key, image.data, image.content_type)
        except BlobStoreUnavailable as exc:
            FAILED.labels(item.kind, "store").inc()
            log.warning("media.store_unavailable", kind=item.kind, error=str(exc))
            return False
        sha256 = hashlib.sha256(image.data).hexdigest()
        async with pool.acquire() as conn:
            announced = await retry_on_conflict(
                lambda: self._record(conn, cause, item, key, image.content_type, len(image.data), sha256)
            )
        if announced:
            STORED.labels(item.kind).inc()
            STORED_BYTES.labels(item.kind).inc(len(image.data))
        else:
            UNCHANGED.labels(item.kind).inc()
        return True

    async def _record(
        self, conn: asyncpg.Connection, cause: Envelope, item: MediaItem, key: str, content_type: str,
        size: int, sha256: str,
    ) -> bool:  # fmt: skip
        """The record and, for bytes not stored for this owner before, their MediaStored, in one commit."""
        async with conn.transaction():
            stored_sha = await repository.lock_media_owner(conn, item.kind, item.owner)
            await repository.record_media_stored(
                conn, kind=item.kind, owner=item.owner, username=item.username, source_url=item.url,
                key=key, sha256=sha256, size=size,
            )  # fmt: skip
            if stored_sha == sha256:
                return False
            event = domain.media_stored(item, key, content_type, size, sha256)
            await self.store.append(
                conn,
                media_stream(item.username),
                [NewEvent(event=event)],
                expected_version=None,
                correlation_id=cause.correlation_id,
                causation_id=cause.event_id,
            )
        return True


async def on_fetched(
    copier: MediaCopier, pool: asyncpg.Pool, envelope: Envelope, event: ProfileIngested | ContentFetched
) -> None:
    wanted = domain.media_wanted(event)
    if not wanted:
        return
    async with pool.acquire() as conn:
        handled = await repository.media_handled(conn, [(item.kind, item.owner) for item in wanted])
    todo = domain.media_to_fetch(wanted, handled)
    done = await asyncio.gather(*(copier.copy(pool, envelope, item) for item in todo))
    failed = done.count(False)
    log.info("media.copied", username=event.username, wanted=len(wanted), fetched=len(todo), failed=failed)
    if failed:
        raise CopyAgain(f"{failed} of {len(todo)} images of {event.username} failed for a passing reason")


HANDLERS: Mapping[type[Event], Callable[..., Awaitable[None]]] = {
    ProfileIngested: on_fetched,
    ContentFetched: on_fetched,
}
