"""Which hook patterns win at the competitors: one outlier is luck, the same pattern at three channels is a
niche signal. A pattern is a hook type; its template is the skeleton of its strongest reel."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .adapt import adapt
from .models import ReelInput
from .results import HookPattern, HookType, PatternReel, ReelAnalysis

# A reel wins for its pattern when it beats its creator's median this many times over...
OUTLIER_MULTIPLE = 2.0
# ...and is not below the median of its niche (its category's reels that month), when that is known.
NICHE_FLOOR = 1.0
MAX_EVIDENCE = 60
RANKING_RULE = (
    f"A reel wins for its hook type when its views are at least {OUTLIER_MULTIPLE:g}x its creator's median "
    f"and, where the niche baseline is known, at least {NICHE_FLOOR:g}x its niche's median. Patterns rank "
    "by the number of competitors they win at, then by strength (the mean over those competitors of their "
    "best winning reel's multiple: the geometric mean of its creator and niche multiples where both are "
    "known, else its creator multiple), then by winning reels."
)


def strength_of(reel: ReelInput) -> float:
    niche = reel.niche_outlier_score
    if niche is None:
        return reel.outlier_score
    return math.sqrt(max(0.0, reel.outlier_score) * max(0.0, niche))


def wins(reel: ReelInput) -> bool:
    niche = reel.niche_outlier_score
    return reel.outlier_score >= OUTLIER_MULTIPLE and (niche is None or niche >= NICHE_FLOOR)


def rank_patterns(
    analyses: Sequence[ReelAnalysis], reels: Mapping[str, ReelInput], medians: Mapping[str, float]
) -> list[HookPattern]:
    """`analyses` are competitor reels; `reels` their inputs by content_id; `medians` creators' median views."""
    winners: dict[HookType, list[tuple[ReelAnalysis, ReelInput]]] = {}
    for item in analyses:
        reel = reels[item.content_id]
        if wins(reel):
            winners.setdefault(item.hook_type, []).append((item, reel))
    ranked = []
    for kind, found in winners.items():
        best: dict[str, float] = {}
        for _, reel in found:
            best[reel.username] = max(best.get(reel.username, 0.0), strength_of(reel))
        found.sort(key=lambda pair: (-strength_of(pair[1]), pair[1].content_id))
        strongest = found[0][0]
        ranked.append(
            (
                (-len(best), -round(sum(best.values()) / len(best), 4), -len(found), kind),
                kind,
                best,
                found,
                strongest,
            )
        )
    ranked.sort(key=lambda entry: entry[0])
    return [
        HookPattern(
            rank=rank,
            hook_type=kind,
            template=adapt(strongest.hook_text, kind, "{topic}"),
            competitors_won=len(best),
            competitor_usernames=sorted(best)[:20],
            outlier_reels=len(found),
            strength=round(sum(best.values()) / len(best), 2),
            evidence=[_evidence(item, reel, medians) for item, reel in found[:MAX_EVIDENCE]],
        )
        for rank, (_, kind, best, found, strongest) in enumerate(ranked, start=1)
    ]


def _evidence(item: ReelAnalysis, reel: ReelInput, medians: Mapping[str, float]) -> PatternReel:
    return PatternReel(
        content_id=reel.content_id,
        username=reel.username,
        hook_text=item.hook_text,
        view_count=item.view_count,
        outlier_score=item.outlier_score,
        creator_median_views=max(0.0, medians.get(reel.username, 0.0)),
        niche_outlier_score=reel.niche_outlier_score,
        niche_median_views=reel.niche_median_views if reel.niche_outlier_score is not None else None,
        category=reel.category,
    )
