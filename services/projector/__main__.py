"""projector: keeps the read-model tables that serve every GET endpoint."""

from __future__ import annotations

from libs.runtime import ServiceRuntime, ServiceSettings, run
from services.projector.handlers import CONSUMER, HANDLERS, Projector
from services.projector.queue_metrics import report_profile_queue
from services.projector.settings import ProjectorSettings

__all__ = ["ProjectorSettings", "build", "main"]


def build(settings: ServiceSettings, batch_size: int = 256) -> ServiceRuntime:
    runtime = ServiceRuntime("projector", settings, publishes=False)
    projector = Projector(runtime.store)
    runtime.add_consumer(
        CONSUMER,
        batch_handler=projector.apply_batch,
        handles=HANDLERS.keys(),
        batch_size=batch_size,
        prefetch=batch_size * 2,
        idempotent=False,  # the stream checkpoints make replays harmless
        on_dead_letter=projector.hold_stream,
    )
    runtime.add_background("profile-queue-metrics", lambda: report_profile_queue(runtime))
    return runtime


async def main() -> None:
    settings = ProjectorSettings()
    await build(settings, settings.projector_batch_size).run_until_signalled()


if __name__ == "__main__":
    run(main, "projector", ProjectorSettings().log_level)
