from __future__ import annotations

from pydantic import Field

from libs.runtime.config import ServiceSettings


class AnalysisSettings(ServiceSettings):
    ops_port: int | None = 8002
    analysis_concurrency: int = Field(default=2, ge=1, le=32)
    # A run holds a lease it renews every half of it; a run whose worker died is restarted by another
    # worker once it expires, or at once by the same replica (WORKER_ID) restarted.
    analysis_lease_s: float = Field(default=15.0, gt=0)
    analysis_poll_interval_s: float = Field(default=1.0, gt=0)
    analysis_scheduler_interval_s: float = Field(default=30.0, gt=0)
    analysis_reels_per_profile: int = Field(default=50, ge=5, le=200)
    primary_transcripts: int = Field(default=3, ge=1, le=20)
    competitor_transcripts: int = Field(default=5, ge=1, le=20)
    # How many reels past the wanted ones may be tried for a transcript (reels without speech).
    transcript_fallback_factor: int = Field(default=3, ge=1, le=10)
    # A scheduled re-run looks only at competitor reels posted this recently.
    rerun_lookback_days: int = Field(default=30, ge=1, le=365)
