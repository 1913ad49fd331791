"""crawler's consumer: a requested run is recorded (and driven later by the run loop); ingested
profiles become the pool of automatic seeds."""

from __future__ import annotations

import asyncpg
import structlog

from libs.events import Envelope
from libs.events.catalog import CrawlRequested, ProfileIngested, ProfileIngestFailed
from libs.events.consumer import Handlers
from services.crawler import repository
from services.crawler.domain import guess_niche

log = structlog.get_logger(__name__)

CONSUMER = "crawler"

# Failures that say the account is gone for good: it must not be picked as a seed.
_GONE = ("ACCOUNT_NOT_FOUND", "ACCOUNT_PRIVATE")


async def on_crawl_requested(conn: asyncpg.Connection, envelope: Envelope, event: CrawlRequested) -> None:
    """Only recorded here: a run takes minutes, so it is driven under a lease, never under this message."""
    inserted = await repository.insert_run(
        conn,
        event,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.event_id,
        requested_at=envelope.occurred_at,
    )
    log.info("crawl.run_recorded", run_id=event.run_id, trigger=event.trigger, new=inserted)


async def on_profile_ingested(conn: asyncpg.Connection, envelope: Envelope, event: ProfileIngested) -> None:
    profile = event.profile
    await repository.upsert_known_profile(
        conn,
        event.username,
        followers=profile.followers,
        niche=guess_niche(event.username, profile.profile_name, profile.bio),
        is_private=profile.is_private,
        ingested_at=envelope.occurred_at,
    )


async def on_profile_ingest_failed(
    conn: asyncpg.Connection, envelope: Envelope, event: ProfileIngestFailed
) -> None:
    if not event.will_retry and event.error_code in _GONE:
        await repository.mark_unavailable(conn, event.username)


HANDLERS: Handlers = {
    CrawlRequested: on_crawl_requested,
    ProfileIngested: on_profile_ingested,
    ProfileIngestFailed: on_profile_ingest_failed,
}
