from __future__ import annotations

from pydantic import Field

from libs.runtime.config import ServiceSettings


class IngestSettings(ServiceSettings):
    ops_port: int | None = 8001
    # Profiles fetched at once per lane (HIGH and MEDIUM; LOW), each lane's prefetch too.
    ingest_concurrency: int = Field(default=4, ge=1, le=64)
    # LOW requests in a lane of their own that waits while HIGH or MEDIUM work is in hand (lanes.py).
    # false: one queue, where HIGH overtakes only the LOW requests still queued, not those running.
    ingest_low_lane: bool = True
    # Tries of one request (each after the provider client's own retries); then the request FAILED.
    ingest_max_attempts: int = Field(default=3, ge=1, le=10)
    ingest_reels_limit: int = Field(default=100, ge=1, le=200)
    # Image and carousel posts per profile, for the discovery feed; 0 fetches none.
    ingest_posts_limit: int = Field(default=50, ge=0, le=200)
    ingest_fetch_similar: bool = True
