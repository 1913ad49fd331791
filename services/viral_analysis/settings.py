from __future__ import annotations

from pydantic import Field

from libs.analysis.usage import (
    DEFAULT_COMPLETION_PRICE_PER_1K,
    DEFAULT_PROMPT_PRICE_PER_1K,
    DEFAULT_TOKEN_BUDGET,
    RunLimits,
)
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
    # ANALYSIS_ENGINE=openai: tokens one run may use over all its steps and retries, and the prices (USD
    # per 1,000 tokens; the defaults are gpt-4o-mini's) that give each run's recorded cost.
    analysis_llm_token_budget: int = Field(default=DEFAULT_TOKEN_BUDGET, ge=1_000, le=10_000_000)
    analysis_llm_prompt_price_per_1k: float = Field(default=DEFAULT_PROMPT_PRICE_PER_1K, ge=0, le=1_000)
    analysis_llm_completion_price_per_1k: float = Field(
        default=DEFAULT_COMPLETION_PRICE_PER_1K, ge=0, le=1_000
    )

    def llm_limits(self) -> RunLimits:
        return RunLimits(
            token_budget=self.analysis_llm_token_budget,
            prompt_price_per_1k=self.analysis_llm_prompt_price_per_1k,
            completion_price_per_1k=self.analysis_llm_completion_price_per_1k,
        )
