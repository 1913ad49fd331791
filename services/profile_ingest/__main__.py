"""profile-ingest: fetches requested profiles and their reels, scores them, emits ProfileIngested."""

from __future__ import annotations

from libs.events.consumer import bind
from libs.instagram import InstagramProvider
from libs.runtime import ServiceRuntime, run
from services.profile_ingest.handlers import CONSUMER, HANDLERS, Ingestion
from services.profile_ingest.settings import IngestSettings


def build(settings: IngestSettings, provider: InstagramProvider | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime("profile-ingest", settings)
    provider = provider or InstagramProvider.from_env()
    runtime.add_consumer(
        CONSUMER,
        bind(HANDLERS, Ingestion(runtime.store, provider, settings)),
        prefetch=settings.ingest_concurrency,
        concurrency=settings.ingest_concurrency,
        # A fetch takes seconds: each step commits its own state and event, idempotent by that state.
        transactional=False,
        idempotent=False,
    )
    runtime.on_stop(provider.close)
    return runtime


async def main() -> None:
    await build(IngestSettings()).run_until_signalled()


if __name__ == "__main__":
    run(main, "profile-ingest", IngestSettings().log_level)
