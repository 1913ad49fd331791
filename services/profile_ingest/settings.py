from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from libs.blobs import MediaStoreSettings
from libs.runtime.config import ServiceSettings, comma_separated


class IngestSettings(MediaStoreSettings, ServiceSettings):
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
    # Copies of profile images and reel thumbnails (media.py): off, none is fetched.
    media_copies: bool = True
    # Images downloaded at once by this process; none starts while HIGH or MEDIUM ingestion is in hand.
    media_concurrency: int = Field(default=2, ge=1, le=32)
    media_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    media_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # The provider's image hosts: names, or `*.domain` for every host under it. Nothing else is fetched.
    media_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*.cdninstagram.com", "*.fbcdn.net"]
    )
    # Development only (the simulator's images on 127.0.0.1, over http): never in containers.
    media_allow_loopback: bool = False
    # Allowed hosts on our own network, fetched without the private-address check: the simulator's
    # container in docker compose. Never a provider's host; empty with the real provider.
    media_private_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("media_allowed_hosts", "media_private_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        # Host names from the environment are compared lower-case.
        return [host.lower() for host in comma_separated(value)] if isinstance(value, str) else value
