from __future__ import annotations

from pydantic import Field, SecretStr

from libs.runtime.config import ServiceSettings


class AlertsSettings(ServiceSettings):
    ops_port: int | None = 8005
    # Watched creators are fetched again (MEDIUM priority) once their last request is this old.
    alerts_refresh_interval_s: float = Field(default=21_600.0, gt=0)
    # The provider budget of the refresh: at most this many watched creators requested per tick...
    alerts_refresh_per_tick: int = Field(default=100, ge=1, le=10_000)
    # ... and a tick this often (so at most per_tick / tick_s requests per second, whatever the
    # number of watched creators; the README says how to size them).
    alerts_refresh_tick_s: float = Field(default=60.0, gt=0)
    # The key every endpoint's signing secret is derived from (shared with the gateway, which shows
    # the secret once at registration). From the environment only.
    webhook_signing_key: SecretStr = SecretStr("")
    # Development only: plain http to loopback endpoints (a local receiver). Private, link-local and
    # (otherwise) loopback addresses are always refused.
    webhook_allow_loopback: bool = False
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    webhook_retry_base_s: float = Field(default=30.0, gt=0)
    webhook_retry_cap_s: float = Field(default=3_600.0, gt=0)
    # Failed deliveries are retried for this long after their first attempt, then given up.
    webhook_give_up_s: float = Field(default=86_400.0, gt=0)
    webhook_concurrency: int = Field(default=8, ge=1, le=100)
    webhook_poll_s: float = Field(default=1.0, gt=0)
