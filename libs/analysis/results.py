"""analysis_data: the document an analysis produces, stored as JSONB and served by /results.

Both engines must produce exactly this shape; a language model's answer is held to it field by field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, model_validator

HookType = Literal[
    "question",
    "number_list",
    "contrarian",
    "story",
    "how_to",
    "bold_claim",
    "curiosity_gap",
    "direct_address",
]
HOOK_TYPES: tuple[HookType, ...] = get_args(HookType)

Text = Annotated[str, StringConstraints(max_length=2000)]
Line = Annotated[str, StringConstraints(max_length=500)]
Word = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Score = Annotated[float, Field(ge=0)]
Views = Annotated[int, Field(ge=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProfileAnalysis(_Section):
    core_identity: Text
    themes: list[Word] = Field(max_length=20)
    audience: Text
    pain_points: list[Line] = Field(max_length=20)
    unexplored_topics: list[Word] = Field(min_length=5, max_length=20)
    content_strategy_fit: Text


class ReelAnalysis(_Section):
    content_id: Word
    username: Word
    shortcode: Word
    url: Line
    outlier_score: Score
    view_count: Views | None
    hook_text: Line
    hook_type: HookType
    power_words: list[Word] = Field(max_length=30)
    emotional_triggers: list[Word] = Field(max_length=10)
    effectiveness_score: float = Field(ge=0, le=10)
    why_it_works: Text


class HookSource(_Section):
    """The competitor reel whose hook structure a generated hook reuses."""

    content_id: Word
    username: Word
    shortcode: Word
    url: Line
    original_hook: Line
    outlier_score: Score
    view_count: Views | None


class GeneratedHook(_Section):
    hook_text: Line
    hook_type: HookType
    adapted_from: HookSource
    target_topic: Word
    why_it_fits: Text


class Script(_Section):
    hook: Line
    problem: Text
    solution: Text
    call_to_action: Line
    estimated_duration_seconds: int = Field(ge=1, le=300)
    full_script: Text
    word_count: int = Field(ge=1, le=750)


class ScriptsSummary(_Section):
    total_scripts: int = Field(ge=0, le=20)
    average_duration_seconds: float = Field(ge=0)
    hook_types_used: dict[HookType, int]
    topics_covered: list[Word] = Field(max_length=20)


class TopOutlier(_Section):
    content_id: Word
    username: Word
    outlier_score: Score


class AnalysisSummary(_Section):
    primary_username: Word
    competitors_analyzed: int = Field(ge=0)
    reels_analyzed: int = Field(ge=0)
    transcripts_used: int = Field(ge=0)
    top_outlier: TopOutlier
    average_competitor_outlier_score: Score
    key_insights: list[Text] = Field(min_length=3, max_length=6)
    engine: Word
    generated_at: datetime


class AnalysisData(_Section):
    profile_analysis: ProfileAnalysis
    individual_reel_analyses: list[ReelAnalysis] = Field(max_length=500)
    generated_hooks: list[GeneratedHook] = Field(min_length=1, max_length=20)
    complete_scripts: list[Script] = Field(min_length=1, max_length=20)
    scripts_summary: ScriptsSummary
    analysis_summary: AnalysisSummary

    @model_validator(mode="after")
    def _sections_agree(self, info: ValidationInfo) -> AnalysisData:
        """The counts the product promises; pass context={"hooks_count": n} to pin the number of hooks."""
        hooks, scripts = self.generated_hooks, self.complete_scripts
        expected = (info.context or {}).get("hooks_count") if info else None
        if expected is not None and len(hooks) != expected:
            raise ValueError(f"generated_hooks has {len(hooks)} items, expected exactly {expected}")
        if len(scripts) != len(hooks):
            raise ValueError(f"complete_scripts has {len(scripts)} items, one per generated hook expected")
        if self.scripts_summary.total_scripts != len(scripts):
            raise ValueError("scripts_summary.total_scripts must equal the number of complete_scripts")
        topics = set(self.profile_analysis.unexplored_topics)
        for index, hook in enumerate(hooks):
            if hook.target_topic not in topics:
                raise ValueError(
                    f"generated_hooks[{index}].target_topic {hook.target_topic!r} "
                    "is not one of profile_analysis.unexplored_topics"
                )
            if scripts[index].hook != hook.hook_text:
                raise ValueError(
                    f"complete_scripts[{index}].hook must repeat generated_hooks[{index}].hook_text"
                )
        return self


def validate_analysis(payload: Any, hooks_count: int | None = None) -> AnalysisData:
    """Validates a decoded JSON document (or a dict of sections) as analysis_data."""
    context = {"hooks_count": hooks_count} if hooks_count is not None else None
    return AnalysisData.model_validate(payload, context=context)
