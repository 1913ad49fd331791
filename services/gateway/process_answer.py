"""Seed 000's /process answer, section by section, and its troubleshooting texts."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from aiohttp import web

from libs.events.catalog import AnalysisTriggered
from services.gateway.domain.analysis_jobs import AnalysisJobState
from services.gateway.repository import analyses as jobs

# Seed 000's troubleshooting texts for /process.
PROCESS_NOT_FOUND_HELP = (
    "Verify the queue_id exists in the viral_ideas_queue table and viral_queue_summary view"
)
MISSING_REQUIREMENTS_HELP = (
    "Verify the queue entry has all required fields for processing. The queue may be corrupted or incomplete"
)
INITIATION_FAILED_HELP = (
    "Please retry the request. If the problem persists, check system resources and contact administrator"
)


def processing_started(
    queue_id: str, state: AnalysisJobState, event: AnalysisTriggered, queue: jobs.ManualQueue
) -> web.Response:
    """Seed 000's answer to /process, section by section, saying what is true: the run is queued for
    the next worker (manual runs first; none has claimed it when the answer leaves), and its estimate
    comes from the runs measured in the last 24 hours (none when nothing finished)."""
    competitors = len(state.competitors)
    mean_min = queue.mean_run_s / 60 if queue.mean_run_s is not None else None
    return web.json_response(
        {
            "success": True,
            "message": "Viral ideas processing queued for the next worker",
            "data": {
                "immediate_processing": {
                    "queue_id": queue_id,
                    "status": "queued_for_immediate_processing",
                    "run": event.run,
                    "queue_position": queue.position,
                    "execution_mode": "immediate_background",
                    "processor_type": "ViralIdeasProcessor",
                    "task_created": True,
                },
                "processing_details": {
                    "primary_username": state.primary_username,
                    "session_id": state.session_id,
                    "competitors_count": competitors,
                    "priority": state.priority,
                    "content_strategy_provided": state.has_strategy,
                    "processing_mode": "parallel_competitor_analysis",
                },
                "resource_allocation": {
                    "background_task_created": True,
                    "memory_allocation": "optimized",
                    "concurrent_processing": "enabled",
                    "asyncio_coordination": "active",
                },
                "monitoring": {
                    "progress_endpoint": f"/api/viral-ideas/queue/{state.session_id}",
                    "status_tracking": "real_time",
                    "completion_detection": "automatic",
                },
                "estimated_completion": {
                    "min_duration_minutes": math.ceil(mean_min) if mean_min is not None else None,
                    "max_duration_minutes": math.ceil(mean_min * queue.position)
                    if mean_min is not None
                    else None,
                    "measured_runs_last_24h": queue.finished_last_24h,
                    "factors": (
                        f"the mean of {queue.finished_last_24h} runs finished in the last 24 hours, times the "
                        f"{queue.position} manual run(s) to go before this one is done"
                        if mean_min is not None
                        else "no run finished in the last 24 hours to measure from"
                    ),
                },
                "timestamp": datetime.now(UTC).isoformat(),
            },
        }
    )
