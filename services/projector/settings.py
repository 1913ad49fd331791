from __future__ import annotations

from libs.runtime.config import ServiceSettings


class ProjectorSettings(ServiceSettings):
    ops_port: int | None = 8004
    projector_batch_size: int = 256
