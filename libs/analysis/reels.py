"""One reel read closely: its hook, what the hook does to a viewer, how it did against both baselines."""

from __future__ import annotations

from typing import Literal

from .hooks import (
    EFFECTIVENESS_FORMULA,
    effectiveness_parts,
    emotional_triggers,
    hook_of,
    power_words,
    type_label,
    why_it_works,
)
from .hooks import classify as classify_hook
from .models import ContentStrategy, ProfileInput, ReelInput
from .results import Evidence, HookType, ReelAnalysis
from .text import content_stems, key_of, shorten

_STRATEGY: dict[str, str] = {
    "question": "Opens with a question the viewer wants answered, so they stay for the answer.",
    "number_list": "Promises a countable list, so the viewer knows the payoff and waits for every item.",
    "contrarian": "Contradicts what the viewer believes or does, so they stay to defend or update it.",
    "story": "Starts a personal story, so the viewer stays to hear how it ends.",
    "how_to": "Promises a method, so the viewer stays for the steps.",
    "bold_claim": "Makes a big claim up front, so the viewer stays to judge it.",
    "curiosity_gap": "Names something hidden (a secret, a mistake, a reason) and holds it back.",
    "direct_address": "Talks straight to the viewer about their situation.",
}
_PRINCIPLES: dict[str, tuple[str, ...]] = {
    "question": ("curiosity", "open loop"),
    "number_list": ("specificity", "completion"),
    "contrarian": ("pattern interrupt", "loss aversion"),
    "story": ("narrative transport", "relatability"),
    "how_to": ("self-efficacy", "clear payoff"),
    "bold_claim": ("authority", "surprise"),
    "curiosity_gap": ("information gap", "exclusivity"),
    "direct_address": ("personal relevance",),
}
_YOU = frozenset({"you", "your", "you're", "yours", "yourself"})


def analyse_reel(
    reel: ReelInput,
    reel_type: Literal["primary", "competitor"],
    creator: ProfileInput | None,
    strategy: ContentStrategy,
) -> ReelAnalysis:
    hook = hook_of(reel)
    kind = classify_hook(hook)
    parts = effectiveness_parts(hook, kind, reel.outlier_score)
    triggers = emotional_triggers(hook)[:10]
    median = creator.median_views if creator else 0.0
    niche_median = reel.niche_median_views if reel.niche_outlier_score is not None else None
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
        emotional_triggers=triggers,
        effectiveness_score=parts["score"],
        why_it_works=why_it_works(hook, kind, reel.outlier_score, reel.view_count),
        reel_type=reel_type,
        niche_outlier_score=reel.niche_outlier_score,
        category=reel.category,
        hook_strategy=f"{type_label(kind).capitalize()} hook. {_STRATEGY[kind]}",
        psychological_principles=list(dict.fromkeys([*_PRINCIPLES[kind], *triggers]))[:10],
        audience_hook_match=audience_match(hook, strategy),
        improvement_potential=improvement(hook, kind, reel.outlier_score),
        engagement_correlation=engagement(reel, creator),
        effectiveness_evidence=Evidence(
            reel_ids=[reel.content_id],
            inputs={
                **{name: value for name, value in parts.items() if name != "score"},
                "view_count": reel.view_count,
                "creator_median_views": median,
                "niche_median_views": niche_median,
            },
            formula=EFFECTIVENESS_FORMULA,
        ),
    )


def audience_match(hook: str, strategy: ContentStrategy) -> str:
    if not hook:
        return "No hook to match: the reel opens without words."
    said = set(key_of(hook))
    found = []
    if _YOU & set(hook.lower().replace("\u2019", "'").split()):
        found.append("talks to the viewer as 'you'")
    audience = content_stems(strategy.targetAudience)
    if audience and audience & said:
        found.append(f'names the stated audience ("{strategy.targetAudience}")')
    content = content_stems(strategy.contentType)
    if content and content & said:
        found.append(f'is about the stated content type ("{strategy.contentType}")')
    if not found:
        return "Neither addresses the viewer nor names the stated audience or content type."
    return shorten(f"The hook {', '.join(found)}.", 2000)


def improvement(hook: str, kind: HookType, outlier_score: float) -> str:
    if not hook:
        return "Add a spoken or on-screen hook in the first two seconds."
    tips = []
    count = len(hook.split())
    if count > 14:
        tips.append(f"cut the hook from {count} words to under 14")
    if not power_words(hook):
        tips.append("add one concrete power word (a number, 'mistake', 'secret')")
    if kind == "direct_address":
        tips.append("give it a shape viewers recognise: a question, a number or a contrarian line")
    if outlier_score < 1:
        tips.append(
            f"it reached only {outlier_score:g}x its creator's median: test another hook on the same topic"
        )
    if not tips:
        return "Little to gain from the hook itself: it is short, concrete and has a recognised shape."
    return shorten(f"{'; '.join(tips).capitalize()}.", 2000)


def engagement(reel: ReelInput, creator: ProfileInput | None) -> str:
    views = reel.view_count
    if not views:
        return "Views not reported, so engagement cannot be set against reach."
    rate = (reel.like_count + reel.comment_count) / views
    parts = [
        f"{reel.like_count:,} likes and {reel.comment_count:,} comments on {views:,} views "
        f"({rate:.1%}) at {reel.outlier_score:g}x the creator's median views"
    ]
    if creator and creator.engagement_rate:
        usual = creator.engagement_rate / 100
        verdict = "above" if rate > usual else "below" if rate < usual else "at"
        parts.append(f"engagement {verdict} the creator's usual {creator.engagement_rate:g}%")
    niche = reel.niche_outlier_score
    if niche is not None:
        parts.append(f"{niche:g}x the median of {reel.category} reels that month")
    return shorten("; ".join(parts) + ".", 2000)
