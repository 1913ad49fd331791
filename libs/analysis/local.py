"""The default engine: reads the real hooks, transcripts and numbers with plain rules; no key, no network.

Same input, same output: nothing random, and the only clock read is `generated_at`, from an injectable clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from .errors import AnalysisEngineError
from .hooks import classify, effectiveness, emotional_triggers, hook_of, power_words, why_it_works
from .ideas import generated_hooks, pick_sources
from .models import AnalysisInput, ReelInput
from .profile import profile_analysis
from .results import AnalysisData, ReelAnalysis, validate_analysis
from .scripts import build_script, tips_from
from .summary import analysis_summary, scripts_summary
from .text import count_terms
from .topics import about_texts, audience_short, reel_texts, themes, unexplored_topics

MAX_REEL_ANALYSES = 500

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class LocalEngine:
    name = "local"
    version = "local-1.0"

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock

    async def analyse(self, analysis_input: AnalysisInput) -> AnalysisData:
        # Pure CPU work, but fifteen competitors' reels take long enough to stall the event loop.
        return await asyncio.to_thread(self.analyse_now, analysis_input)

    async def close(self) -> None:
        return None

    def analyse_now(self, analysis_input: AnalysisInput) -> AnalysisData:
        strategy = analysis_input.content_strategy
        competitor_reels = _by_outlier(analysis_input.competitor_reels())
        own_reels = _by_outlier(analysis_input.primary_reels)
        reels = [analyse_reel(reel) for reel in [*competitor_reels, *own_reels] if hook_of(reel)]
        reels = reels[:MAX_REEL_ANALYSES]
        if not reels:
            raise AnalysisEngineError(
                "Nothing to analyse: neither the creator nor the competitors have a reel with a caption or transcript"
            )
        primary = count_terms(reel_texts(own_reels))
        competitors = count_terms(reel_texts(competitor_reels))
        about = count_terms(about_texts(analysis_input))
        own_themes = themes(primary) if own_reels else themes(about)
        topics = unexplored_topics(primary, competitors, strategy, own_themes)
        profile = profile_analysis(analysis_input, primary, competitors, own_themes, topics)

        theirs = {reel.content_id for reel in competitor_reels}
        candidates = [reel for reel in reels if reel.content_id in theirs] or reels
        audience = audience_short(strategy)
        hooks = generated_hooks(
            analysis_input,
            pick_sources(candidates, analysis_input.hooks_count),
            topics,
            primary,
            competitors,
            audience,
        )
        scores = {reel.content_id: reel.effectiveness_score for reel in reels}
        tips = tips_from(competitor_reels or own_reels, scores)
        used: set[str] = set()
        scripts = [
            build_script(hook, profile.pain_points, tips, strategy, audience, used, number)
            for number, hook in enumerate(hooks)
        ]
        summary = analysis_summary(analysis_input, reels, topics, self.name, self._clock())
        return validate_analysis(
            {
                "profile_analysis": profile,
                "individual_reel_analyses": reels,
                "generated_hooks": hooks,
                "complete_scripts": scripts,
                "scripts_summary": scripts_summary(hooks, scripts),
                "analysis_summary": summary,
            },
            hooks_count=analysis_input.hooks_count,
        )


def analyse_reel(reel: ReelInput) -> ReelAnalysis:
    hook = hook_of(reel)
    kind = classify(hook)
    return ReelAnalysis(
        content_id=reel.content_id,
        username=reel.username,
        shortcode=reel.shortcode,
        url=reel.url,
        outlier_score=max(0.0, reel.outlier_score),
        view_count=reel.view_count if reel.view_count is None or reel.view_count >= 0 else None,
        hook_text=hook,
        hook_type=kind,
        power_words=power_words(hook)[:30],
        emotional_triggers=emotional_triggers(hook)[:10],
        effectiveness_score=effectiveness(hook, kind, reel.outlier_score),
        why_it_works=why_it_works(hook, kind, reel.outlier_score, reel.view_count),
    )


def _by_outlier(reels: Sequence[ReelInput]) -> list[ReelInput]:
    return sorted(reels, key=lambda reel: (-reel.outlier_score, reel.content_id))
