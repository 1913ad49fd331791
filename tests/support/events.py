"""Event payloads for tests that need a valid one of some size or shape."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from libs.events import Envelope
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


def analysis_requested_v1(queue_id: str, **changes: Any) -> dict[str, Any]:
    """An AnalysisRequested as version 1's code wrote it (model_dump of its model): competitors are
    usernames, every one typed in."""
    return {
        "queue_id": queue_id,
        "session_id": "old-gateway",
        "primary_username": "fitwithmaya",
        "competitors": ["fit.coach.amy", "gym.bro.max"],
        "content_strategy": {
            "contentType": "Home workouts",
            "targetAudience": "Busy parents",
            "goals": "Grow",
            "additionalNotes": None,
        },
        "analysis_settings": {},
        "priority": 5,
        "auto_rerun_enabled": True,
        "rerun_frequency_hours": 24,
        "user_id": None,
        **changes,
    }


def written_at(version: int, event_type: str, payload: dict[str, Any], stream_id: str) -> Envelope:
    """An envelope as the code of schema `version` sent it, past today's models."""
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=event_type,
        schema_version=version,
        occurred_at=datetime.now(UTC),
        producer="gateway",
        stream_id=stream_id,
        stream_version=1,
        correlation_id=uuid.uuid4(),
        payload=payload,
    )
