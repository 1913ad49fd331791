"""The analysis run's steps and choices, free of I/O."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from libs.events.catalog import ReelSnapshot

# ProgressUpdated steps and their percentages, in order (the API's documented steps).
STEPS: tuple[tuple[str, int], ...] = (
    ("queued", 0),
    ("fetching primary profile", 10),
    ("fetching competitor content", 25),
    ("selecting top reels", 45),
    ("fetching transcripts", 55),
    ("analysing hooks", 70),
    ("generating hooks and scripts", 85),
    ("storing results", 95),
    ("completed", 100),
)
PROGRESS = dict(STEPS)


def transcript_candidates(reels: Sequence[ReelSnapshot], wanted: int, factor: int) -> list[ReelSnapshot]:
    """Best outliers first; up to wanted * factor of them may be tried until enough have speech."""
    ranked = sorted(reels, key=lambda r: (-r.outlier_score, -(r.view_count or 0), r.content_id))
    return ranked[: wanted * factor]


def pick_with_transcripts(
    candidates: Sequence[ReelSnapshot], transcripts: dict[str, str | None], wanted: int
) -> list[ReelSnapshot]:
    """The top `wanted` candidates that have a transcript; reels without speech fill any gap left."""
    spoken = [r for r in candidates if transcripts.get(r.shortcode)]
    silent = [r for r in candidates if not transcripts.get(r.shortcode)]
    chosen = (spoken + silent)[:wanted]
    return [r.model_copy(update={"transcript": transcripts.get(r.shortcode)}) for r in chosen]


@dataclass
class Job:
    queue_id: str
    session_id: str
    primary_username: str
    competitors: list[str]
    content_strategy: dict[str, Any]
    analysis_settings: dict[str, Any]
    run: int
    trigger: str
    last_completed_at: datetime | None
    auto_rerun_enabled: bool
    rerun_frequency_hours: int
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    # A run's parallel fetches all append to the job's one stream: they take turns under this lock.
    stream_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False, compare=False)

    @property
    def analysis_type(self) -> str:
        return "recurring" if self.trigger == "schedule" else "initial" if self.run == 1 else "manual_rerun"
