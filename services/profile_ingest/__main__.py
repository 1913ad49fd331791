"""profile-ingest: fetches requested profiles with their reels and posts, scores and categorises them,
emits ProfileIngested with ProfileCategorised and ReelsCategorised; keeps copies of their images
(media.py), emitting MediaStored."""

from __future__ import annotations

from libs.analysis import Classifier, classifier_from_env
from libs.blobs import BlobStore
from libs.events.consumer import bind
from libs.instagram import InstagramProvider
from libs.runtime import ServiceRuntime, run
from libs.runtime.loops import every
from services.profile_ingest import media
from services.profile_ingest.downloads import ImageFetcher
from services.profile_ingest.handlers import CONSUMER, HANDLERS, Ingestion
from services.profile_ingest.lanes import LOW_LANE, HighFirst, lane_of
from services.profile_ingest.redrive import WorkQueueWatch
from services.profile_ingest.settings import IngestSettings


def build(
    settings: IngestSettings,
    provider: InstagramProvider | None = None,
    classifier: Classifier | None = None,
    blobs: BlobStore | None = None,
) -> ServiceRuntime:
    runtime = ServiceRuntime("profile-ingest", settings)
    provider = provider or InstagramProvider.from_env()
    # CLASSIFIER=local (default) or openai, with the analysis engine's OPENAI_* settings.
    classifier = classifier or classifier_from_env()
    gate = HighFirst()
    handlers = bind(HANDLERS, Ingestion(runtime.store, provider, settings, classifier, gate))
    # A fetch takes seconds: each step commits its own state and event, idempotent by that state.
    lane = {"prefetch": settings.ingest_concurrency, "concurrency": settings.ingest_concurrency,
            "transactional": False, "idempotent": False}  # fmt: skip
    # HIGH and MEDIUM; LOW moved to its lane as it arrives (unless INGEST_LOW_LANE=false).
    runtime.add_consumer(CONSUMER, handlers, divert=lane_of if settings.ingest_low_lane else None, **lane)
    # LOW, started only while the gate is open. It runs even with the lane off, to drain what it holds.
    runtime.add_consumer(LOW_LANE, handlers, admit=gate.wait_open, **lane)
    if runtime.topology.queue_type == "quorum":
        runtime.add_background("profile-queue-watch", lambda: _watch(runtime, settings))
    runtime.on_stop(provider.close)
    runtime.on_stop(classifier.close)
    if settings.media_copies:
        _add_media_copies(runtime, settings, gate, blobs or settings.blob_store())
    return runtime


async def _watch(runtime: ServiceRuntime, settings: IngestSettings) -> None:
    """On a cluster the work queue lives on one node; what its outage drops is sent again (redrive.py)."""
    assert runtime.pool is not None and runtime.amqp is not None
    queue = runtime.topology.queue(CONSUMER)
    watch = WorkQueueWatch(runtime.pool, runtime.amqp, queue, settings.profile_queue_redrive_slack_s)
    await every(settings.profile_queue_probe_s, watch.tick, "profile_queue")


def _add_media_copies(
    runtime: ServiceRuntime, settings: IngestSettings, gate: HighFirst, blobs: BlobStore
) -> None:
    fetcher = ImageFetcher(
        allowed_hosts=settings.media_allowed_hosts,
        allow_loopback=settings.media_allow_loopback,
        max_bytes=settings.media_max_bytes,
        timeout_s=settings.media_timeout_s,
        private_hosts=settings.media_private_hosts,
    )
    copier = media.MediaCopier(runtime.store, fetcher, blobs, gate, settings.media_concurrency)
    # Downloads take seconds and commit per image, idempotent by ingest.media; two profiles at a time
    # share the process's MEDIA_CONCURRENCY slots, and wait while HIGH or MEDIUM ingestion is in hand.
    runtime.add_consumer(
        media.CONSUMER, bind(media.HANDLERS, copier), prefetch=2, concurrency=2, transactional=False,
        idempotent=False, admit=gate.wait_open,
    )  # fmt: skip
    runtime.on_stop(fetcher.close)
    runtime.on_stop(blobs.close)


async def main() -> None:
    await build(IngestSettings()).run_until_signalled()


if __name__ == "__main__":
    run(main, "profile-ingest", IngestSettings().log_level)
