from __future__ import annotations

from pydantic import Field

from libs.runtime.config import ServiceSettings


class CrawlerSettings(ServiceSettings):
    ops_port: int | None = 8003
    # A run is held by one worker under a lease it renews; a killed worker's run is resumed by another
    # after this, or at once by the same replica (WORKER_ID) restarted.
    crawler_lease_s: float = Field(default=15.0, gt=0)
    # How often the run loop looks for runs to start or resume.
    crawler_poll_interval_s: float = Field(default=1.0, gt=0)
    # Runs driven at once by one process.
    crawler_concurrency: int = Field(default=2, ge=1, le=32)
    # A provider outage pauses the run; it is retried after base * 2^(pauses-1), at most max.
    crawler_pause_base_s: float = Field(default=5.0, gt=0)
    crawler_pause_max_s: float = Field(default=300.0, gt=0)
    # Consecutive pauses (or unexpected errors) after which the run fails with the last reason.
    crawler_max_pauses: int = Field(default=30, ge=1)
    crawler_max_errors: int = Field(default=3, ge=1)
    # A seed used within this many hours is taken only when no other seed is left.
    crawler_seed_cooldown_h: float = Field(default=24.0, ge=0)
    # Scheduled runs (automatic seeds) every this many seconds when no run is active; 0 = off.
    crawler_schedule_interval_s: float = Field(default=0.0, ge=0)
    crawler_schedule_target_profiles: int = Field(default=50, ge=1, le=1000)
    crawler_schedule_max_rounds: int = Field(default=5, ge=1, le=20)
    crawler_schedule_per_seed_limit: int = Field(default=4, ge=1, le=80)
    crawler_schedule_min_followers: int = Field(default=1000, ge=0)
