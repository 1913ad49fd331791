"""The original's profile sections, read from every fetched reel of the creator: who they are in a few
lines, what to make next, and their reels in scores that show their inputs."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence

from .adapt import adapt
from .hooks import type_label
from .models import AnalysisInput
from .results import (
    ContentAnalysis,
    ContentOpportunities,
    Evidence,
    HookPattern,
    ProfileSummary,
    ReelAnalysis,
)
from .text import Terms, content_stems, hashtags, key_of, shorten

MAX_EVIDENCE_REELS = 60


def profile_summary(
    analysis_input: AnalysisInput,
    own: Sequence[ReelAnalysis],
    own_themes: Sequence[str],
    competitors: Terms,
    core_identity: str,
    audience: str,
    pains: Sequence[str],
) -> ProfileSummary:
    return ProfileSummary(
        core_identity=core_identity,
        unique_value_proposition=_value(analysis_input, own, own_themes, competitors),
        primary_content_themes=list(own_themes),
        target_audience_description=audience,
        content_personality=_personality(own),
        audience_pain_points=list(pains),
        signature_approaches=_signatures(own),
    )


def _value(
    analysis_input: AnalysisInput, own: Sequence[ReelAnalysis], own_themes: Sequence[str], competitors: Terms
) -> str:
    name = f"@{analysis_input.primary.username}"
    if not own:
        return shorten(f"{name} has no reels to read yet; the stated strategy and bio stand in.", 2000)
    rare = [theme for theme in own_themes if competitors.share(key_of(theme)) < 0.1]
    best = max(own, key=lambda item: (item.outlier_score, item.content_id))
    parts = []
    if rare:
        parts.append(f"{name} covers {', '.join(rare[:3])}, which the competitors' top reels rarely touch.")
    else:
        parts.append(f"{name} works the same ground as the competitors: {', '.join(own_themes[:3])}.")
    parts.append(
        f"Their strongest reel ({best.content_id}, {best.outlier_score:g}x their median) opens with a "
        f'{type_label(best.hook_type)} hook: "{shorten(best.hook_text, 160)}".'
    )
    return shorten(" ".join(parts), 2000)


def _personality(own: Sequence[ReelAnalysis]) -> str:
    if not own:
        return "Not known yet: no reels of the creator were read."
    kinds = Counter(item.hook_type for item in own)
    top = sorted(kinds.items(), key=lambda pair: (-pair[1], pair[0]))[:2]
    you = sum(1 for item in own if "you" in f" {item.hook_text.lower()} ".replace("?", " ").split())
    described = " and ".join(f"{type_label(kind)} ({count} of {len(own)})" for kind, count in top)
    return shorten(f"Mostly {described} hooks; {you} of {len(own)} hooks talk to the viewer as 'you'.", 2000)


def _signatures(own: Sequence[ReelAnalysis]) -> list[str]:
    by_type: dict[str, list[float]] = {}
    for item in own:
        by_type.setdefault(item.hook_type, []).append(item.outlier_score)
    ranked = sorted(by_type.items(), key=lambda pair: (-len(pair[1]), -statistics.fmean(pair[1]), pair[0]))
    return [
        shorten(
            f"{type_label(kind).capitalize()} hooks: {len(scores)} reels, "
            f"{statistics.fmean(scores):.1f}x their median on average.",
            500,
        )
        for kind, scores in ranked[:5]
    ]


def opportunities(
    topics: Sequence[str], primary: Terms, competitors: Terms, patterns: Sequence[HookPattern]
) -> ContentOpportunities:
    descriptions = []
    for topic in topics:
        key = key_of(topic)
        descriptions.append(
            shorten(
                f"{topic}: in {competitors.share(key):.0%} of competitor top reels and "
                f"{primary.share(key):.0%} of the creator's reels.",
                500,
            )
        )
    angles = []
    for pattern, topic in zip(patterns, topics, strict=False):
        hook = pattern.template.replace("{topic}", topic)
        angles.append(
            shorten(
                f"{type_label(pattern.hook_type).capitalize()} angle on {topic} (pattern #{pattern.rank}, "
                f'wins at {pattern.competitors_won} competitors): "{hook}"',
                500,
            )
        )
    if not angles:
        angles = [f"A how-to on {topic}: {adapt('', 'how_to', topic)}" for topic in topics[:3]]
    return ContentOpportunities(topic_descriptions=descriptions, content_angles=angles)


def content_analysis(
    analysis_input: AnalysisInput, own: Sequence[ReelAnalysis], fit_share: float
) -> ContentAnalysis:
    reels = analysis_input.primary_reels
    ids = [item.content_id for item in own][:MAX_EVIDENCE_REELS]
    all_ids = [reel.content_id for reel in sorted(reels, key=lambda r: (-r.outlier_score, r.content_id))]
    tags = Counter(tag for reel in reels for tag in hashtags(reel.caption or ""))
    mean = statistics.fmean(item.effectiveness_score for item in own) if own else 0.0
    steady = sum(1 for reel in reels if reel.outlier_score >= 0.5)
    focus = content_stems(analysis_input.content_strategy.targetAudience)
    addressed = sum(
        1 for item in own if "you" in item.hook_text.lower().split() or (focus & set(key_of(item.hook_text)))
    )
    evidence = {
        "hook_strength_score": _evidence(ids, {"mean_effectiveness": round(mean, 2), "hooks": len(own)},
                                         "mean of the creator's reels' effectiveness_score"),
        "consistency_score": _evidence(all_ids[:MAX_EVIDENCE_REELS], {"reels_at_half_median_or_more": steady,
                                       "reels": len(reels)}, "10 * reels with outlier_score >= 0.5 / reels"),
        "audience_focus_score": _evidence(ids, {"hooks_addressing_audience": addressed, "hooks": len(own)},
                                          "10 * hooks saying 'you' or naming the stated audience / hooks"),
        "strategy_fit_score": _evidence(all_ids[:MAX_EVIDENCE_REELS], {"share_touching_content_type":
                                        round(fit_share, 3), "reels": len(reels)},
                                        "10 * share of reels touching the stated content type"),
    }  # fmt: skip
    scores = {
        "hook_strength_score": _ten(mean),
        "consistency_score": _ten(10 * steady / len(reels) if reels else 0.0),
        "audience_focus_score": _ten(10 * addressed / len(own) if own else 0.0),
        "strategy_fit_score": _ten(10 * fit_share),
    }
    overall = _ten(statistics.fmean(scores.values()))
    evidence["overall_score"] = _evidence([], dict(scores), "mean of the four scores")
    return ContentAnalysis(
        reels_analyzed=len(reels),
        transcripts_used=sum(1 for reel in reels if (reel.transcript or "").strip()),
        top_hashtags=[tag[:100] for tag, _ in sorted(tags.items(), key=lambda p: (-p[1], p[0]))[:10]],
        **scores,
        overall_score=overall,
        evidence=evidence,
    )


def _ten(value: float) -> float:
    return round(min(10.0, max(0.0, value)), 1)


def _evidence(ids: Sequence[str], inputs: dict[str, float | None], formula: str) -> Evidence:
    return Evidence(reel_ids=list(ids), inputs=inputs, formula=formula)
