"""Configuration from the environment only; secrets never come from files in the repository."""

from __future__ import annotations

import socket
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.events.topology import RetryLadder, Topology


def comma_separated(value: Any) -> Any:
    """A list setting as the environment gives it ("a, b,c"): its non-empty parts; anything else (a
    list given in code) as it is. For a field validator in mode="before" of a NoDecode list field."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    database_url: str = "postgresql://postgres@127.0.0.1:5432/viralspot"
    # One node, or a cluster's nodes comma-separated: connections fail over between them (libs.events.broker).
    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    # quorum on a cluster: every consumer queue without priorities (and its retry and dead-letter
    # queues) is replicated on three nodes. Chosen when the queues are first declared.
    broker_queue_type: Literal["classic", "quorum"] = "classic"
    event_namespace: str = Field(default="viralspot", pattern=r"^[a-zA-Z0-9_.-]{1,64}$")
    log_level: str = "INFO"
    # Stable per replica (a pod or container name; unique among live processes of one service): a
    # restarted process takes back its own leases at once instead of waiting for them to expire.
    worker_id: str = Field(default_factory=socket.gethostname, pattern=r"^[A-Za-z0-9._:-]{1,100}$")
    # Port of the service's /healthz, /readyz and /metrics (the gateway serves them on its API port).
    ops_port: int | None = None
    ops_host: str = "127.0.0.1"
    db_pool_min: int = 2
    db_pool_max: int = 10
    retry_max: int = Field(default=5, ge=0, le=20)
    retry_base_delay_s: float = Field(default=1.0, gt=0)
    retry_max_delay_s: float = Field(default=300.0, gt=0)
    shutdown_timeout_s: float = 30.0
    # The outbox relay: how long a batch may wait for its confirms (a broker blocking publishers), and
    # how often an event the broker refuses is tried on its own before it is parked.
    relay_publish_timeout_s: float = Field(default=10.0, gt=0, le=300)
    relay_max_attempts: int = Field(default=5, ge=1, le=100)
    relay_retry_base_s: float = Field(default=0.5, gt=0, le=60)
    # How often gauges read from the broker or the database (queue depths) are refreshed.
    metrics_interval_s: float = Field(default=15.0, gt=0)

    def topology(self) -> Topology:
        return Topology(
            namespace=self.event_namespace,
            retry=RetryLadder(self.retry_max, self.retry_base_delay_s, self.retry_max_delay_s),
            queue_type=self.broker_queue_type,
        )
