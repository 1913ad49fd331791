"""analysis_data: the document an analysis produces, stored as JSONB and served by /results.

Both engines must produce exactly this shape; a language model's answer is held to it field by field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, model_validator

from .usage import RunUsage

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
Score10 = Annotated[float, Field(ge=0, le=10)]
Views = Annotated[int, Field(ge=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Evidence(_Section):
    """What a score was computed from: the reels, the numbers and the rule, so a reader can redo it."""

    reel_ids: list[Word] = Field(max_length=60)
    inputs: dict[Word, float | None] = Field(max_length=30)
    formula: Line


class ProfileSummary(_Section):
    """The original's profile_summary, read from every fetched reel of the creator."""

    core_identity: Text
    unique_value_proposition: Text
    primary_content_themes: list[Word] = Field(max_length=20)
    target_audience_description: Text
    content_personality: Text
    audience_pain_points: list[Line] = Field(max_length=20)
    signature_approaches: list[Line] = Field(max_length=10)


class PatternReel(_Section):
    """One competitor outlier reel behind a hook pattern, with both of its baselines."""

    content_id: Word
    username: Word
    hook_text: Line
    view_count: Views | None
    outlier_score: Score
    creator_median_views: Score
    niche_outlier_score: Score | None
    niche_median_views: Score | None
    category: Word | None


class HookPattern(_Section):
    """A hook type that wins at competitors: ranked by how many competitors it wins at, then how much."""

    rank: int = Field(ge=1)
    hook_type: HookType
    template: Line
    competitors_won: int = Field(ge=0)
    competitor_usernames: list[Word] = Field(max_length=20)
    outlier_reels: int = Field(ge=0)
    strength: Score
    evidence: list[PatternReel] = Field(max_length=60)


class ContentOpportunities(_Section):
    topic_descriptions: list[Line] = Field(min_length=1, max_length=20)
    content_angles: list[Line] = Field(min_length=1, max_length=20)


class ContentAnalysis(_Section):
    """The creator's reels in numbers: each score 0-10, and in `evidence` under its name what it came from."""

    reels_analyzed: int = Field(ge=0)
    transcripts_used: int = Field(ge=0)
    top_hashtags: list[Word] = Field(max_length=20)
    hook_strength_score: Score10
    consistency_score: Score10
    audience_focus_score: Score10
    strategy_fit_score: Score10
    overall_score: Score10
    evidence: dict[Word, Evidence] = Field(max_length=10)


class ProfileAnalysis(_Section):
    core_identity: Text
    themes: list[Word] = Field(max_length=20)
    audience: Text
    pain_points: list[Line] = Field(max_length=20)
    unexplored_topics: list[Word] = Field(min_length=5, max_length=20)
    content_strategy_fit: Text
    profile_summary: ProfileSummary
    top_performing_patterns: list[HookPattern] = Field(max_length=len(HOOK_TYPES))
    new_content_opportunities: ContentOpportunities
    content_analysis: ContentAnalysis


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
    reel_type: Literal["primary", "competitor"]
    niche_outlier_score: Score | None
    category: Word | None
    hook_strategy: Text
    psychological_principles: list[Word] = Field(max_length=10)
    audience_hook_match: Text
    improvement_potential: Text
    engagement_correlation: Text
    effectiveness_evidence: Evidence


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
    hook_id: Word
    original_competitor_hook: Line
    source_reel_id: Word
    source_username: Word
    adaptation_strategy: Text
    psychological_triggers: list[Word] = Field(max_length=10)
    power_words_used: list[Word] = Field(max_length=30)
    # 0-10; effectiveness_evidence holds what it came from.
    estimated_effectiveness: Score10
    effectiveness_evidence: Evidence
    creator_voice_elements: list[Line] = Field(max_length=10)
    pattern_rank: int | None = Field(ge=1)


class Segment(_Section):
    text: Text
    start_second: int = Field(ge=0, le=300)
    end_second: int = Field(ge=1, le=300)
    seconds: int = Field(ge=1, le=300)


class StructureBreakdown(_Section):
    hook: Segment
    problem: Segment
    solution: Segment
    call_to_action: Segment

    def segments(self) -> list[tuple[str, Segment]]:
        return [("hook", self.hook), ("problem", self.problem), ("solution", self.solution),
                ("call_to_action", self.call_to_action)]  # fmt: skip


class Shot(_Section):
    shot: int = Field(ge=1)
    start_second: int = Field(ge=0, le=300)
    end_second: int = Field(ge=1, le=300)
    segment: Literal["hook", "problem", "solution", "call_to_action"]
    description: Line
    on_screen_text: Line


class ProductionNotes(_Section):
    tone: Line
    pacing: Line
    emphasis: Text
    emphasis_points: list[Line] = Field(min_length=1, max_length=10)


class Script(_Section):
    hook: Line
    problem: Text
    solution: Text
    call_to_action: Line
    estimated_duration_seconds: int = Field(ge=4, le=300)
    # Spoken words, timing markers not counted; full_script carries "[m:ss-m:ss] SEGMENT:" markers.
    full_script: Annotated[str, StringConstraints(max_length=2600)]
    word_count: int = Field(ge=1, le=750)
    title: Line
    structure_breakdown: StructureBreakdown
    key_messaging: list[Line] = Field(min_length=1, max_length=10)
    visual_suggestions: list[Shot] = Field(min_length=4, max_length=20)
    production_notes: ProductionNotes
    success_factors: list[Line] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _timings_agree(self) -> Script:
        """Segments and shots run back to back from 0 to the estimated duration."""
        at = 0
        for name, segment in self.structure_breakdown.segments():
            if segment.start_second != at or segment.end_second - segment.start_second != segment.seconds:
                raise ValueError(f"structure_breakdown.{name} must start at {at}s and last its seconds")
            at = segment.end_second
        if at != self.estimated_duration_seconds:
            raise ValueError(
                f"structure_breakdown seconds add up to {at}, not estimated_duration_seconds "
                f"{self.estimated_duration_seconds}"
            )
        at = 0
        for shot in self.visual_suggestions:
            if shot.start_second != at or shot.end_second <= shot.start_second:
                raise ValueError(f"visual_suggestions shot {shot.shot} must start at {at}s and end after it")
            at = shot.end_second
        if at != self.estimated_duration_seconds:
            raise ValueError("visual_suggestions must end at estimated_duration_seconds")
        return self


class ScriptSummaryItem(_Section):
    """The original's scripts_summary: one line per script."""

    script_number: int = Field(ge=1)
    hook_id: Word
    title: Line
    hook: Line
    hook_type: HookType
    target_topic: Word
    estimated_duration_seconds: int = Field(ge=4, le=300)
    word_count: int = Field(ge=1, le=750)


class ScriptsOverview(_Section):
    """What was scripts_summary before it took the original's list shape."""

    total_scripts: int = Field(ge=0, le=20)
    average_duration_seconds: float = Field(ge=0)
    hook_types_used: dict[HookType, int]
    topics_covered: list[Word] = Field(max_length=20)


class ViralIdea(_Section):
    id: Word
    idea_text: Line
    explanation: Text
    # 0-1: its hook's estimated_effectiveness over ten (the hook's effectiveness_evidence says why).
    confidence_score: float = Field(ge=0, le=1)
    power_words: list[Word] = Field(max_length=30)
    hook_id: Word
    target_topic: Word


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
    scripts_summary: list[ScriptSummaryItem] = Field(min_length=1, max_length=20)
    scripts_overview: ScriptsOverview
    viral_ideas: list[ViralIdea] = Field(min_length=1, max_length=20)
    analysis_summary: AnalysisSummary
    # Tokens and cost of a language-model run (libs/analysis/usage.py); the local engine's has none.
    llm_usage: RunUsage | None = Field(default=None, exclude_if=lambda usage: usage is None)

    @model_validator(mode="after")
    def _sections_agree(self, info: ValidationInfo) -> AnalysisData:
        """The counts the product promises; pass context={"hooks_count": n} to pin the number of hooks."""
        hooks, scripts = self.generated_hooks, self.complete_scripts
        expected = (info.context or {}).get("hooks_count") if info else None
        if expected is not None and len(hooks) != expected:
            raise ValueError(f"generated_hooks has {len(hooks)} items, expected exactly {expected}")
        if len(scripts) != len(hooks):
            raise ValueError(f"complete_scripts has {len(scripts)} items, one per generated hook expected")
        if self.scripts_overview.total_scripts != len(scripts):
            raise ValueError("scripts_overview.total_scripts must equal the number of complete_scripts")
        if len(self.scripts_summary) != len(scripts) or len(self.viral_ideas) != len(hooks):
            raise ValueError("scripts_summary and viral_ideas need one item per script and hook")
        ids = [hook.hook_id for hook in hooks]
        if len(set(ids)) != len(ids):
            raise ValueError("generated_hooks[].hook_id must be unique")
        topics = set(self.profile_analysis.unexplored_topics)
        for index, hook in enumerate(hooks):
            _hook_agrees(index, hook, topics)
            if scripts[index].hook != hook.hook_text:
                raise ValueError(
                    f"complete_scripts[{index}].hook must repeat generated_hooks[{index}].hook_text"
                )
            if (
                self.scripts_summary[index].hook_id != hook.hook_id
                or self.viral_ideas[index].hook_id != hook.hook_id
            ):
                raise ValueError(
                    f"scripts_summary[{index}] and viral_ideas[{index}] must name hook {hook.hook_id!r}"
                )
        return self


def _hook_agrees(index: int, hook: GeneratedHook, topics: set[str]) -> None:
    # That source_reel_id and friends repeat adapted_from is grounding's to check (grounding.py).
    if hook.target_topic not in topics:
        raise ValueError(
            f"generated_hooks[{index}].target_topic {hook.target_topic!r} "
            "is not one of profile_analysis.unexplored_topics"
        )


def validate_analysis(payload: Any, hooks_count: int | None = None) -> AnalysisData:
    """Validates a decoded JSON document (or a dict of sections) as analysis_data."""
    context = {"hooks_count": hooks_count} if hooks_count is not None else None
    return AnalysisData.model_validate(payload, context=context)
