"""alerts' consumer: keeps the watches and endpoints, turns an ingestion of a watched creator into the
OutlierDetected of each watcher whose threshold a reel crossed (once per user, reel and threshold), and
each alert into the deliveries owed to the user's endpoints."""

from __future__ import annotations

import asyncpg
import structlog

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
from services.alerts.domain import crossings, delivery_body

log = structlog.get_logger(__name__)

CONSUMER = "alerts"


# Stateless: the store of the service's own producer, as its runtime's.
STORE = EventStore(producer=CONSUMER)


async def on_watch_started(conn: asyncpg.Connection, envelope: Envelope, event: WatchStarted) -> None:
    await repository.upsert_watch(
        conn, event.user_id, event.username, event.min_outlier_score, event.alert_from
    )


async def on_watch_stopped(conn: asyncpg.Connection, envelope: Envelope, event: WatchStopped) -> None:
    await repository.delete_watch(conn, event.user_id, event.username)


async def on_profile_ingested(conn: asyncpg.Connection, envelope: Envelope, event: ProfileIngested) -> None:
    watches = await repository.watchers_of(conn, event.username)
    if not watches:
        return
    await repository.fetched(conn, event.username, envelope.occurred_at)
    median = event.profile.median_views or None
    for watch, reel in crossings(event.reels, watches):
        alert = OutlierDetected(
            user_id=watch.user_id, username=event.username, content_id=reel.content_id,
            shortcode=reel.shortcode, url=reel.url, view_count=reel.view_count or 0,
            outlier_score=reel.outlier_score, threshold=watch.min_outlier_score, median_views=median,
            date_posted=reel.date_posted, description=(reel.description or "")[:2200] or None,
            ingestion_event_id=str(envelope.event_id),
        )  # fmt: skip
        new = NewEvent(event=alert)
        if not await repository.record_detection(
            conn,
            watch.user_id,
            reel.content_id,
            watch.min_outlier_score,
            new.event_id,
            envelope.occurred_at,
        ):
            continue  # alerted before, at this threshold
        await STORE.append(
            conn, alerts_stream(watch.user_id), [new], expected_version=None,
            correlation_id=envelope.correlation_id, causation_id=envelope.event_id,
        )  # fmt: skip
        metrics.OUTLIERS_DETECTED.inc()
        log.info("alerts.outlier_detected", user_id=watch.user_id, username=event.username,
                 content_id=reel.content_id, outlier_score=reel.outlier_score)  # fmt: skip


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
