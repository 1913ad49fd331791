"""The two closing sections: what the scripts cover, and what the analysis found in a few sentences."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from .hooks import type_label
from .models import AnalysisInput
from .results import (
    HOOK_TYPES,
    AnalysisSummary,
    GeneratedHook,
    ReelAnalysis,
    Script,
    ScriptsOverview,
    ScriptSummaryItem,
    TopOutlier,
    ViralIdea,
)
from .text import key_of, shorten
from .topics import focus_keys


def scripts_overview(hooks: Sequence[GeneratedHook], scripts: Sequence[Script]) -> ScriptsOverview:
    used = Counter(hook.hook_type for hook in hooks)
    durations = [script.estimated_duration_seconds for script in scripts]
    return ScriptsOverview(
        total_scripts=len(scripts),
        average_duration_seconds=round(statistics.fmean(durations), 1) if durations else 0.0,
        hook_types_used={kind: used[kind] for kind in HOOK_TYPES if used[kind]},
        topics_covered=list(dict.fromkeys(hook.target_topic for hook in hooks)),
    )


def scripts_summary(hooks: Sequence[GeneratedHook], scripts: Sequence[Script]) -> list[ScriptSummaryItem]:
    # Not strict: a language model's document may pair them wrongly, which AnalysisData's cross-check
    # names (one script per hook) and the chain sends back to the step at fault.
    return [
        ScriptSummaryItem(
            script_number=number,
            hook_id=hook.hook_id,
            title=script.title,
            hook=script.hook,
            hook_type=hook.hook_type,
            target_topic=hook.target_topic,
            estimated_duration_seconds=script.estimated_duration_seconds,
            word_count=script.word_count,
        )
        for number, (hook, script) in enumerate(zip(hooks, scripts, strict=False), 1)
    ]


def viral_ideas(hooks: Sequence[GeneratedHook]) -> list[ViralIdea]:
    """One idea per generated hook; its confidence is the hook's estimated effectiveness over ten."""
    return [
        ViralIdea(
            id=f"idea-{number}",
            idea_text=shorten(
                f"{hook.target_topic[:1].upper()}{hook.target_topic[1:]}: {hook.hook_text}", 500
            ),
            explanation=hook.why_it_fits,
            confidence_score=round(hook.estimated_effectiveness / 10, 2),
            power_words=hook.power_words_used,
            hook_id=hook.hook_id,
            target_topic=hook.target_topic,
        )
        for number, hook in enumerate(hooks, 1)
    ]


def analysis_summary(
    analysis_input: AnalysisInput,
    reels: Sequence[ReelAnalysis],
    topics: Sequence[str],
    engine: str,
    generated_at: datetime,
) -> AnalysisSummary:
    theirs = {reel.content_id for reel in analysis_input.competitor_reels()}
    transcribed = {reel.content_id for reel in analysis_input.all_reels() if (reel.transcript or "").strip()}
    competitor_scores = [reel.outlier_score for reel in analysis_input.competitor_reels()]
    top = min(reels, key=lambda reel: (-reel.outlier_score, reel.content_id))
    return AnalysisSummary(
        primary_username=analysis_input.primary.username,
        competitors_analyzed=sum(1 for competitor in analysis_input.competitors if competitor.reels),
        reels_analyzed=len(reels),
        transcripts_used=sum(1 for reel in reels if reel.content_id in transcribed),
        top_outlier=TopOutlier(
            content_id=top.content_id, username=top.username, outlier_score=top.outlier_score
        ),
        average_competitor_outlier_score=round(statistics.fmean(competitor_scores), 2)
        if competitor_scores
        else 0.0,
        key_insights=key_insights(analysis_input, reels, theirs, transcribed, topics, top),
        engine=engine,
        generated_at=generated_at,
    )


def key_insights(
    analysis_input: AnalysisInput,
    reels: Sequence[ReelAnalysis],
    theirs: set[str],
    transcribed: set[str],
    topics: Sequence[str],
    top: ReelAnalysis,
) -> list[str]:
    username = analysis_input.primary.username
    competitor = [reel for reel in reels if reel.content_id in theirs]
    own = [reel for reel in reels if reel.content_id not in theirs]
    insights = []
    if competitor or own:
        pool = competitor or own
        by_type: dict[str, list[float]] = {}
        for reel in pool:
            by_type.setdefault(reel.hook_type, []).append(reel.effectiveness_score)
        best = min(by_type, key=lambda kind: (-statistics.fmean(by_type[kind]), kind))
        whose = "competitor top reels" if competitor else f"@{username}'s reels"
        insights.append(
            f"{type_label(best).capitalize()} hooks score best among {whose}: "
            f"{statistics.fmean(by_type[best]):.1f}/10 on average across {_reels(len(by_type[best]))}."
        )
    hook = shorten(top.hook_text, 120)
    insights.append(
        f'Top outlier: @{top.username} at {top.outlier_score:g}x their median views with "{hook}".'
    )
    if competitor and own:
        theirs_avg = statistics.fmean(reel.outlier_score for reel in competitor)
        own_avg = statistics.fmean(reel.outlier_score for reel in own)
        insights.append(
            f"Competitor top reels average {theirs_avg:.1f}x their creators' median; "
            f"@{username}'s analysed reels average {own_avg:.1f}x."
        )
    insights.append(f"Topics worth taking on that @{username} has not covered: {', '.join(topics[:3])}.")
    with_transcript = sum(1 for reel in reels if reel.content_id in transcribed)
    insights.append(
        f"Transcripts were available for {with_transcript} of {len(reels)} analysed reels; "
        "the rest were read from their captions."
    )
    strategy = analysis_input.content_strategy
    if strategy.is_empty():
        insights.append("No content strategy was given: topics follow competitor performance alone.")
    else:
        focus = focus_keys(strategy)
        steered = sum(1 for topic in topics if focus & set(key_of(topic)))
        insights.append(
            f"The stated content strategy shares words with {steered} of the {len(topics)} suggested topics."
        )
    return [shorten(insight, 2000) for insight in insights[:6]]


def _reels(count: int) -> str:
    return f"{count} reel" if count == 1 else f"{count} reels"
