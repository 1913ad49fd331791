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
    # Cluster mode only (BROKER_QUEUE_TYPE=quorum): how often the work queue is probed, and the slack
    # either side of an outage within which unfinished requests are sent again (redrive.py).
    profile_queue_probe_s: float = Field(default=1.0, gt=0, le=60)
    profile_queue_redrive_slack_s: float = Field(default=10.0, ge=0, le=600)
