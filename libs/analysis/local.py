"""The default engine: reads the real hooks, transcripts and numbers with plain rules; no key, no network.

Same input, same output: nothing random, and the only clock read is `generated_at`, from an injectable clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from .derived import derived_sections
from .errors import AnalysisEngineError
from .hooks import hook_of
from .ideas import generated_hooks, pick_sources
from .models import AnalysisInput, ReelInput
from .patterns import rank_patterns
from .profile import profile_analysis
from .reels import analyse_reel
from .results import AnalysisData, validate_analysis
from .scripts import build_script, tips_from
from .text import count_terms
from .topics import about_texts, audience_short, reel_texts, themes, unexplored_topics

MAX_REEL_ANALYSES = 500

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class LocalEngine:
    name = "local"
    version = "local-2.0"

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
        creators = {c.profile.username: c.profile for c in analysis_input.competitors}
        theirs_read = [
            analyse_reel(reel, "competitor", creators.get(reel.username), strategy)
            for reel in competitor_reels
            if hook_of(reel)
        ]
        own = [
            analyse_reel(reel, "primary", analysis_input.primary, strategy)
            for reel in own_reels
            if hook_of(reel)
        ]
        reels = [*theirs_read, *own][:MAX_REEL_ANALYSES]
        if not reels:
            raise AnalysisEngineError(
                "Nothing to analyse: neither the creator nor the competitors have a reel with a caption or transcript"
            )
        primary = count_terms(reel_texts(own_reels))
        competitors = count_terms(reel_texts(competitor_reels))
        about = count_terms(about_texts(analysis_input))
        own_themes = themes(primary) if own_reels else themes(about)
        topics = unexplored_topics(primary, competitors, strategy, own_themes)
        by_id = {reel.content_id: reel for reel in competitor_reels}
        medians = {name: profile.median_views for name, profile in creators.items()}
        patterns = rank_patterns(theirs_read, by_id, medians)
        profile = profile_analysis(analysis_input, primary, competitors, own_themes, topics, own, patterns)

        candidates = theirs_read or own
        audience = audience_short(strategy)
        ranks = {pattern.hook_type: pattern.rank for pattern in patterns}
        hooks = generated_hooks(
            analysis_input,
            pick_sources(candidates, analysis_input.hooks_count, ranks),
            topics,
            primary,
            competitors,
            audience,
            patterns,
            own_themes,
        )
        scores = {reel.content_id: reel.effectiveness_score for reel in reels}
        tips = tips_from(competitor_reels or own_reels, scores)
        used: set[str] = set()
        scripts = [
            build_script(hook, profile.pain_points, tips, strategy, audience, used, number)
            for number, hook in enumerate(hooks)
        ]
        written = {
            "profile_analysis": profile,
            "individual_reel_analyses": reels,
            "generated_hooks": hooks,
            "complete_scripts": scripts,
        }
        # The summaries by the same rules as for the language model's sections (derived.py).
        summaries = derived_sections(analysis_input, written, self.name, self._clock())
        return validate_analysis({**written, **summaries}, hooks_count=analysis_input.hooks_count)


def _by_outlier(reels: Sequence[ReelInput]) -> list[ReelInput]:
    return sorted(reels, key=lambda reel: (-reel.outlier_score, reel.content_id))
