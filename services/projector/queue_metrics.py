"""The profile request queue's depth by priority and the held streams, read from the read model the
projector keeps."""

from __future__ import annotations

import asyncio

import structlog
from prometheus_client import Gauge

from libs.runtime import ServiceRuntime
from services.projector import repository
from services.projector.handlers import HELD_STREAMS

log = structlog.get_logger(__name__)

PRIORITIES = ("HIGH", "MEDIUM", "LOW")
ACTIVE = ("PENDING", "PROCESSING")

PROFILE_QUEUE = Gauge(
    "viralspot_profile_queue_requests",
    "Profile requests waiting (PENDING) or being fetched (PROCESSING), by priority",
    ["priority", "status"],
)


async def report_profile_queue(runtime: ServiceRuntime) -> None:
    while True:
        assert runtime.pool is not None
        try:
            counts = await repository.active_profile_requests(runtime.pool)
            held = await repository.held_streams(runtime.pool)
        except Exception as exc:  # a database outage shows on /readyz; keep the last values meanwhile
            log.warning("profile_queue_metrics.unavailable", error=repr(exc))
        else:
            for priority in PRIORITIES:
                for status in ACTIVE:
                    PROFILE_QUEUE.labels(priority, status).set(counts.get((priority, status), 0))
            HELD_STREAMS.set(held)
        await asyncio.sleep(runtime.settings.metrics_interval_s)
