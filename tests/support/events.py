"""Event payloads for tests that need a valid one of some size or shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from libs.events.catalog import AnalysisResult


def analysis_result(analysis_data: dict[str, Any]) -> AnalysisResult:
    """A finished run's result carrying `analysis_data` as the engine's answer."""
    now = datetime.now(UTC)
    return AnalysisResult(
        analysis_type="initial",
        workflow_version="test",
        started_at=now,
        completed_at=now,
        processing_time_seconds=0,
        primary_reels_count=0,
        competitor_reels_count=0,
        transcripts_fetched=0,
        analysis_data=analysis_data,
    )
