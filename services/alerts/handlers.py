"""alerts' consumer: keeps the watches and endpoints, turns an ingestion of a watched creator into the
OutlierDetected of each watcher whose threshold a reel crossed (once per user, reel and threshold), and
each alert into the deliveries owed to the user's endpoints."""

from __future__ import annotations

from typing import cast

import asyncpg
import structlog

from libs.categories import CategoryName
from libs.events import EventStore, NewEvent
from libs.events.catalog import (
    OutlierDetected,
    ProfileIngested,
    WatchStarted,
    WatchStopped,
    WebhookRedeliveryRequested,
    WebhookRegistered,
    WebhookRemoved,
    alerts_stream,
)
from libs.events.consumer import Handlers
from libs.events.envelope import Envelope
from services.alerts import metrics, repository
from services.alerts.domain import crossings, delivery_body, niche_bucket

log = structlog.get_logger(__name__)

CONSUMER = "alerts"
# ProfileIngested is followed in its transaction by ProfileCategorised and ReelsCategorised.
CATEGORISED_WITHIN = 2


# Stateless: the store of the service's own producer, as its runtime's.
STORE = EventStore(producer=CONSUMER)


async def on_watch_started(conn: asyncpg.Connection, envelope: Envelope, event: WatchStarted) -> None:
    await repository.upsert_watch(
        conn, event.user_id, event.username, event.min_outlier_score, event.min_niche_score,
        event.alert_from,
    )  # fmt: skip


async def on_watch_stopped(conn: asyncpg.Connection, envelope: Envelope, event: WatchStopped) -> None:
    await repository.delete_watch(conn, event.user_id, event.username)


async def on_profile_ingested(conn: asyncpg.Connection, envelope: Envelope, event: ProfileIngested) -> None:
    watches = await repository.watchers_of(conn, event.username)
    if not watches:
        return
    await repository.fetched(conn, event.username, envelope.occurred_at)
    median = event.profile.median_views or None
    categories: dict[str, str] = {}
    niche: dict[str, float] = {}
    if any(w.min_niche_score is not None for w in watches):
        categories = await _categories(conn, envelope)
        niche = await _niche_scores(conn, event, categories)
    for found in crossings(event.reels, watches, niche):
        watch, reel = found.watch, found.reel
        alert = OutlierDetected(
            user_id=watch.user_id, username=event.username, content_id=reel.content_id,
            shortcode=reel.shortcode, url=reel.url, view_count=reel.view_count or 0,
            outlier_score=reel.outlier_score, threshold=watch.min_outlier_score, median_views=median,
            date_posted=reel.date_posted, description=(reel.description or "")[:2200] or None,
            ingestion_event_id=str(envelope.event_id), min_niche_score=watch.min_niche_score,
            niche_outlier_score=found.niche_outlier_score,
            category=cast(CategoryName | None, categories.get(reel.content_id)),
        )  # fmt: skip
        new = NewEvent(event=alert)
        if not await repository.record_detection(
            conn, watch.user_id, reel.content_id, watch.min_outlier_score, watch.min_niche_score,
            new.event_id, envelope.occurred_at,
        ):  # fmt: skip
            continue  # alerted before, at these thresholds
        await STORE.append(
            conn, alerts_stream(watch.user_id), [new], expected_version=None,
            correlation_id=envelope.correlation_id, causation_id=envelope.event_id,
        )  # fmt: skip
        metrics.OUTLIERS_DETECTED.inc()
        log.info("alerts.outlier_detected", user_id=watch.user_id, username=event.username,
                 content_id=reel.content_id, outlier_score=reel.outlier_score)  # fmt: skip


async def _categories(conn: asyncpg.Connection, envelope: Envelope) -> dict[str, str]:
    """Each reel's category, from the ReelsCategorised committed right after this ProfileIngested (in
    its transaction, so it is in the store); none when this ingestion was not categorised."""
    after = await STORE.read_stream(
        conn, envelope.stream_id, from_version=envelope.stream_version + 1,
        to_version=envelope.stream_version + CATEGORISED_WITHIN,
    )  # fmt: skip
    for later in after:
        if later.event_type == "ProfileIngested":
            break  # the next ingestion: this one was not categorised
        if later.event_type == "ReelsCategorised":
            return {r["content_id"]: r["category"] for r in later.payload.get("reels", [])}
    return {}


async def _niche_scores(
    conn: asyncpg.Connection, event: ProfileIngested, categories: dict[str, str]
) -> dict[str, float]:
    """Views over the niche's median views, for each reel filed under a category with a baseline."""
    buckets = {reel.content_id: niche_bucket(reel, categories.get(reel.content_id)) for reel in event.reels}
    medians = await repository.niche_medians(conn, {b for b in buckets.values() if b is not None})
    scores = {}
    for reel in event.reels:
        bucket = buckets[reel.content_id]
        if bucket in medians and reel.view_count is not None:
            scores[reel.content_id] = reel.view_count / medians[bucket]
    return scores


async def on_outlier_detected(conn: asyncpg.Connection, envelope: Envelope, event: OutlierDetected) -> None:
    body = delivery_body(str(envelope.event_id), envelope.occurred_at, event)
    await repository.add_deliveries(conn, event.user_id, envelope.event_id, body, envelope.occurred_at)


async def on_webhook_registered(
    conn: asyncpg.Connection, envelope: Envelope, event: WebhookRegistered
) -> None:
    await repository.upsert_endpoint(conn, event.endpoint_id, event.user_id, event.url)


async def on_webhook_removed(conn: asyncpg.Connection, envelope: Envelope, event: WebhookRemoved) -> None:
    await repository.remove_endpoint(conn, event.endpoint_id)


async def on_redelivery_requested(
    conn: asyncpg.Connection, envelope: Envelope, event: WebhookRedeliveryRequested
) -> None:
    await repository.redeliver(conn, event.user_id, event.delivery_id, envelope.occurred_at)


HANDLERS: Handlers = {
    WatchStarted: on_watch_started,
    WatchStopped: on_watch_stopped,
    ProfileIngested: on_profile_ingested,
    OutlierDetected: on_outlier_detected,
    WebhookRegistered: on_webhook_registered,
    WebhookRemoved: on_webhook_removed,
    WebhookRedeliveryRequested: on_redelivery_requested,
}
