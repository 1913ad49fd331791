"""Checks that an analysis talks about the reels it was given, not reels a language model made up."""

from __future__ import annotations

from .models import AnalysisInput, ReelInput
from .results import AnalysisData


def grounding_errors(data: AnalysisData, analysis_input: AnalysisInput) -> list[str]:
    """Readable problems, empty when every reel the analysis names is one of the input's."""
    known = {reel.content_id: reel for reel in analysis_input.all_reels()}
    theirs = {reel.content_id for reel in analysis_input.competitor_reels()}
    problems = []
    if data.analysis_summary.primary_username != analysis_input.primary.username:
        problems.append(f"analysis_summary.primary_username must be {analysis_input.primary.username!r}")
    for index, item in enumerate(data.individual_reel_analyses):
        reel = known.get(item.content_id)
        if reel is None:
            problems.append(
                f"individual_reel_analyses[{index}].content_id {item.content_id!r} is not an input reel"
            )
        elif item.username != reel.username:
            problems.append(f"individual_reel_analyses[{index}].username must be {reel.username!r}")
    for index, hook in enumerate(data.generated_hooks):
        source = hook.adapted_from
        reel = known.get(source.content_id)
        where = f"generated_hooks[{index}].adapted_from"
        if reel is None:
            problems.append(f"{where}.content_id {source.content_id!r} is not an input reel")
        elif theirs and source.content_id not in theirs:
            problems.append(f"{where} must be a competitor's reel, not the creator's own")
        else:
            problems.extend(_mismatches(where, source.username, source.shortcode, source.url, reel))
        if (hook.source_reel_id, hook.source_username, hook.original_competitor_hook) != (
            source.content_id,
            source.username,
            source.original_hook,
        ):
            problems.append(
                f"generated_hooks[{index}] source_reel_id, source_username and original_competitor_hook "
                "must repeat adapted_from"
            )
        cited = [i for i in hook.effectiveness_evidence.reel_ids if i not in known]
        if cited:
            problems.append(
                f"generated_hooks[{index}].effectiveness_evidence cites unknown reels {cited[:3]}"
            )
    for index, pattern in enumerate(data.profile_analysis.top_performing_patterns):
        cited = [reel.content_id for reel in pattern.evidence if reel.content_id not in known]
        if cited:
            problems.append(f"top_performing_patterns[{index}].evidence cites unknown reels {cited[:3]}")
    return problems


def _mismatches(where: str, username: str, shortcode: str, url: str, reel: ReelInput) -> list[str]:
    wrong = []
    for field, given, expected in (
        ("username", username, reel.username),
        ("shortcode", shortcode, reel.shortcode),
        ("url", url, reel.url),
    ):
        if given != expected:
            wrong.append(f"{where}.{field} must be {expected!r} for content_id {reel.content_id!r}")
    return wrong
