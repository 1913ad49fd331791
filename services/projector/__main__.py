"""projector: keeps the read-model tables that serve every GET endpoint."""

from __future__ import annotations

from libs.events import REGISTRY
from libs.runtime import ServiceRuntime, ServiceSettings, run
from services.projector.handlers import Projector
from services.projector.queue_metrics import report_profile_queue


class ProjectorSettings(ServiceSettings):
    ops_port: int | None = 8004
    projector_batch_size: int = 256


def build(settings: ServiceSettings, batch_size: int = 256) -> ServiceRuntime:
    runtime = ServiceRuntime("projector", settings, publishes=False)
    projector = Projector(runtime.store)
    runtime.add_consumer(
        "projector",
        batch_handler=projector.apply_batch,
        handles=list(REGISTRY.values()),
        batch_size=batch_size,
        prefetch=batch_size * 2,
        idempotent=False,  # the stream checkpoints make replays harmless
    )
    runtime.add_background("profile-queue-metrics", lambda: report_profile_queue(runtime))
    return runtime


async def main() -> None:
    settings = ProjectorSettings()
    await build(settings, settings.projector_batch_size).run_until_signalled()


if __name__ == "__main__":
    run(main, "projector", ProjectorSettings().log_level)
