"""projector: keeps the read-model tables that serve every GET endpoint."""

from __future__ import annotations

from libs.events import REGISTRY
from libs.runtime import ServiceRuntime, ServiceSettings, run
from services.projector.handlers import Projector


class ProjectorSettings(ServiceSettings):
    ops_port: int | None = 8004
    projector_batch_size: int = 256


async def main() -> None:
    settings = ProjectorSettings()
    runtime = ServiceRuntime("projector", settings, publishes=False)
    projector = Projector(runtime.store)
    runtime.add_consumer(
        "projector",
        handlers={name: _unused for name in REGISTRY},
        batch_handler=projector.apply_batch,
        batch_size=settings.projector_batch_size,
        prefetch=settings.projector_batch_size * 2,
        idempotent=False,  # the stream checkpoints make replays harmless
    )
    await runtime.run_until_signalled()


async def _unused(*_args: object) -> None:
    raise AssertionError("the projector applies events through its batch handler")


if __name__ == "__main__":
    run(main, "projector", ProjectorSettings().log_level)
