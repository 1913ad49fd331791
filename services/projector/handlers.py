"""The projector's consumer: applies every stream's events once and in order, in batches, each through
its projection (how the event changes the read-model tables)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import cast

import asyncpg
from prometheus_client import Counter, Gauge, Histogram

from libs.events import REGISTRY, Deferred, Envelope, Event, EventStore
from libs.events.catalog import (
    AnalysisCancelled,
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisRequested,
    AnalysisStarted,
    AnalysisTriggered,
    AnalysisUpdated,
    CompetitorStatusChanged,
    ContentFetched,
    CrawlCompleted,
    CrawlPaused,
    CrawlRequested,
    CrawlRoundCompleted,
    CrawlStarted,
    MediaStored,
    OutlierDetected,
    ProfileCategorised,
    ProfileDiscovered,
    ProfileIngested,
    ProfileIngestFailed,
    ProfileIngestStarted,
    ProfileRequested,
    ProfileRequestPromoted,
    ProgressUpdated,
    ReelsCategorised,
    SimilarAccountsFetched,
    SimilarAccountsFetchFailed,
    SimilarAccountsRequested,
    WatchStarted,
    WatchStopped,
    WebhookDeliveryAttempted,
    WebhookRedeliveryRequested,
    WebhookRegistered,
    WebhookRemoved,
)
from services.projector import (
    alert_tables,
    analysis_tables,
    category_tables,
    crawl_tables,
    discovery_tables,
    domain,
    media_tables,
    picker_tables,
    profile_tables,
    repository,
    statements,
)

READ_MODEL_SCHEMA = "readmodel"

CONSUMER = "projector"

Projection = Callable[[asyncpg.Connection, Envelope], Awaitable[None]]

# Bound to every event ('#'): each event type of the catalogue has its projection here.
HANDLERS: Mapping[type[Event], Projection] = {
    ProfileRequested: profile_tables.profile_requested,
    ProfileRequestPromoted: profile_tables.profile_request_promoted,
    ProfileIngestStarted: profile_tables.profile_ingest_started,
    ProfileIngestFailed: profile_tables.profile_ingest_failed,
    ProfileIngested: profile_tables.profile_ingested,
    ProfileCategorised: category_tables.profile_categorised,
    ReelsCategorised: category_tables.reels_categorised,
    SimilarAccountsRequested: picker_tables.similar_accounts_requested,
    SimilarAccountsFetched: picker_tables.similar_accounts_fetched,
    SimilarAccountsFetchFailed: picker_tables.similar_accounts_fetch_failed,
    MediaStored: media_tables.media_stored,
    AnalysisRequested: analysis_tables.analysis_requested,
    AnalysisTriggered: analysis_tables.analysis_triggered,
    AnalysisCancelled: analysis_tables.analysis_cancelled,
    AnalysisUpdated: analysis_tables.analysis_updated,
    AnalysisStarted: analysis_tables.analysis_started,
    ProgressUpdated: analysis_tables.progress_updated,
    CompetitorStatusChanged: analysis_tables.competitor_status_changed,
    ContentFetched: analysis_tables.content_fetched,
    AnalysisCompleted: analysis_tables.analysis_completed,
    AnalysisFailed: analysis_tables.analysis_failed,
    CrawlRequested: crawl_tables.crawl_requested,
    CrawlStarted: crawl_tables.crawl_started,
    CrawlPaused: crawl_tables.crawl_paused,
    ProfileDiscovered: crawl_tables.profile_discovered,
    CrawlRoundCompleted: crawl_tables.crawl_round_completed,
    CrawlCompleted: crawl_tables.crawl_completed,
    WatchStarted: alert_tables.watch_started,
    WatchStopped: alert_tables.watch_stopped,
    OutlierDetected: alert_tables.outlier_detected,
    WebhookRegistered: alert_tables.webhook_registered,
    WebhookRemoved: alert_tables.webhook_removed,
    WebhookDeliveryAttempted: alert_tables.webhook_delivery_attempted,
    WebhookRedeliveryRequested: alert_tables.webhook_redelivery_requested,
}

APPLIED = Counter(
    "viralspot_projector_events_applied_total", "Events applied to the read models", ["event_type"]
)
HELD = Counter(
    "viralspot_projector_held_events_total",
    "Events not projected because an earlier event of their stream is dead-lettered (they are read back "
    "from the store once it applies)",
)
HELD_STREAMS = Gauge("viralspot_projector_held_streams", "Streams held at a dead-lettered event")
LAG_SECONDS = Histogram(
    "viralspot_projector_lag_seconds",
    "From an event's occurrence to its projection",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


class Projector:
    """Keeps a version checkpoint per stream: an event at or below it is a duplicate and is skipped; an
    event beyond the next version means an earlier one is still in flight (a retry, a redelivery), so
    the missing ones are read from the store and applied first. Every table thus sees each stream's
    events exactly once and in stream order. After a batch's events, the discovery totals are brought up
    to date from the content rows the batch touched (discovery_tables).

    The batch's statements go out together (statements.py): wave by wave, each stream's k-th event in
    wave k, the same statement of a wave's events sent once with all their arguments.

    One shortcut (domain.plan_batch): a creator's ingestion followed in the same batch by their
    categorisations writes its rows filed already, so a categorised reel is written once rather than
    inserted and then updated; those categorisations have nothing left to do when their turn comes.

    Sequenced dead letters: a stream whose event was dead-lettered is held at it (hold_stream). Its
    later events are skipped, not projected past the missing one; when the dead letter is requeued and
    applies, they are read back from the store in the same batch, in order."""

    def __init__(self, store: EventStore, schema: str = READ_MODEL_SCHEMA, totals: bool = True) -> None:
        """`totals` False: the discovery totals are not kept batch by batch but left to one recount
        (discovery_tables.recount) after the last batch: for a replay into a fresh schema only."""
        self.store = store
        self.schema = schema
        self.totals = totals
        self.applied = 0

    async def _from_store(
        self, conn: asyncpg.Connection, stream: str, first: int, last: int | None = None
    ) -> list[Envelope]:
        """Events read back from the store (a gap, or those that waited behind a dead letter). The
        consumer defers a delivered event newer code wrote; one read here is deferred the same way."""
        envelopes = await self.store.read_stream(conn, stream, from_version=first, to_version=last)
        for envelope in envelopes:
            known = REGISTRY.get(envelope.event_type)
            if known is not None and envelope.schema_version > known.schema_version:
                raise Deferred(f"{envelope.stream_id}@{envelope.stream_version} is of a newer schema version")
        return envelopes

    async def hold_stream(self, pool: asyncpg.Pool, envelope: Envelope, reason: str) -> None:
        """The consumer's on_dead_letter: nothing of the stream is projected past this event."""
        await repository.hold(pool, self.schema, envelope, reason)

    async def apply_batch(self, conn: asyncpg.Connection, items: list[tuple[Envelope, Event]]) -> None:
        if not items:
            return
        await repository.project_into(conn, self.schema)
        streams = sorted({e.stream_id for e, _ in items})
        versions, held = await repository.lock_checkpoints(conn, streams)
        before = dict(versions)
        todo: list[Envelope] = []
        released: list[str] = []
        for envelope, _ in items:
            stream, version = envelope.stream_id, envelope.stream_version
            current = versions[stream]
            if version <= current:
                continue
            if stream in held and version > held[stream]:
                # Behind its stream's dead letter (sequenced dead letters): read back once that applies.
                HELD.inc()
                continue
            if version > current + 1:
                todo += await self._from_store(conn, stream, current + 1, version - 1)
            todo.append(envelope)
            versions[stream] = version
            if held.get(stream) == version:
                # The dead letter itself, requeued: the events that waited behind it follow from the store.
                del held[stream]
                released.append(stream)
                waited = await self._from_store(conn, stream, version + 1)
                todo += waited
                versions[stream] = waited[-1].stream_version if waited else version
        touched = domain.touched_content(todo)
        contributions = await discovery_tables.before(conn, touched) if touched and self.totals else None
        steps = domain.plan_batch(todo)
        await repository.plans(conn, "auto")
        for wave in statements.waves([step.envelope.stream_id for step in steps]):
            recorder = statements.Recorder()
            for i in wave:
                recorder.begin()
                # The projections only write: the recorder stands in for the connection (statements.py).
                await self._apply(cast(asyncpg.Connection, recorder), steps[i])
            await statements.send(conn, recorder)
        await repository.plans(conn, "force_custom_plan")
        self._count(steps)
        if touched:
            await discovery_tables.after(conn, touched, contributions)
        changed = {s: versions[s] for s in streams if versions[s] != before[s]}
        if changed:
            await repository.save_checkpoints(conn, changed)
        if released:
            await repository.release(conn, released)

    async def _apply(self, conn: asyncpg.Connection, step: domain.Step) -> None:
        envelope = step.envelope
        if step.ahead:
            await profile_tables.profile_ingested_ahead_of(conn, envelope, step.ahead)
        elif step.reels is not None and not step.done:
            await category_tables.file_reels(conn, step.reels, envelope.occurred_at)
        elif not step.done:
            # By class, as the consumer dispatches. A type unknown to this build (read from the store
            # while filling a gap) has no projection: it only moves its stream's checkpoint on.
            event_class = REGISTRY.get(envelope.event_type)
            projection = HANDLERS.get(event_class) if event_class is not None else None
            if projection is not None:
                await projection(conn, envelope)

    def _count(self, steps: list[domain.Step]) -> None:
        """The batch's events in the metrics: each type's count once, rather than a label look-up each."""
        self.applied += len(steps)
        by_type: dict[str, int] = {}
        now = time.time()
        for step in steps:
            envelope = step.envelope
            by_type[envelope.event_type] = by_type.get(envelope.event_type, 0) + 1
            LAG_SECONDS.observe(max(0.0, now - envelope.occurred_at.timestamp()))
        for event_type, n in by_type.items():
            APPLIED.labels(event_type).inc(n)
