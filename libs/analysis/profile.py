"""Who the creator is, who they talk to, what hurts their audience, and how well the strategy fits."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from .creator import content_analysis, opportunities, profile_summary
from .hooks import hook_of
from .lexicon import CALL_TO_ACTION
from .models import AnalysisInput, ReelInput
from .results import HookPattern, ProfileAnalysis, ReelAnalysis
from .text import Terms, content_stems, key_of, sentences, shorten

_PAIN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bstop (?P<p>[^.?!]+?)(?: if you\b[^.?!]*)?(?:[.?!]|$)", re.I), "{p}"),
    (re.compile(r"\bare you still (?P<p>[^?]+)\?", re.I), "{p}"),
    (re.compile(r"\byou'?re doing (?P<p>[^.?!]+?) wrong\b", re.I), "doing {p} wrong"),
    (re.compile(r"\b(?:this|the) (?P<p>[^.?!]+?) mistake\b", re.I), "making the usual {p} mistake"),
    (re.compile(r"\b(?P<p>(?:struggling|tired of|sick of|stuck|wasting) [^.?!,]+)", re.I), "{p}"),
)
_YOU = re.compile(r"\b(you|your|you're)\b", re.I)


def pain_points(reels: Sequence[ReelInput], limit: int = 6) -> list[str]:
    """The habits and mistakes the hooks and transcripts call out, most repeated first."""
    counts: Counter[str] = Counter()
    for reel in reels:
        seen: set[str] = set()
        for text in (reel.transcript or "", reel.caption or ""):
            for pattern, form in _PAIN_PATTERNS:
                for match in pattern.finditer(text):
                    pain = shorten(form.format(p=match["p"].strip().lower()), 160)
                    if pain not in seen:
                        seen.add(pain)
                        counts[pain] += 1
    return [pain for pain, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))][:limit]


def profile_analysis(
    analysis_input: AnalysisInput,
    primary: Terms,
    competitors: Terms,
    own_themes: list[str],
    topics: list[str],
    own: Sequence[ReelAnalysis] = (),
    patterns: Sequence[HookPattern] = (),
) -> ProfileAnalysis:
    """`own`: the analyses of the creator's reels (every fetched one); `patterns`: the ranked hook patterns."""
    reels = analysis_input.all_reels()
    identity, audience = _core_identity(analysis_input, own_themes), _audience(analysis_input, own_themes)
    pains = pain_points(reels) or _fallback_pains(topics)
    content = content_stems(analysis_input.content_strategy.contentType)
    return ProfileAnalysis(
        core_identity=identity,
        themes=own_themes,
        audience=audience,
        pain_points=pains,
        unexplored_topics=topics,
        content_strategy_fit=_strategy_fit(analysis_input, primary),
        profile_summary=profile_summary(
            analysis_input, own, own_themes, competitors, identity, audience, pains
        ),
        top_performing_patterns=list(patterns),
        new_content_opportunities=opportunities(topics, primary, competitors, patterns),
        content_analysis=content_analysis(analysis_input, own, _share(analysis_input.primary_reels, content)),
    )


def _core_identity(analysis_input: AnalysisInput, own_themes: list[str]) -> str:
    profile, strategy = analysis_input.primary, analysis_input.content_strategy
    name = profile.profile_name or profile.username
    parts = [f"{name} (@{profile.username}, {profile.followers:,} followers)."]
    if profile.bio:
        parts.append(f'Bio: "{shorten(profile.bio, 300)}".')
    if analysis_input.primary_reels:
        numbers = f"median {profile.median_views:,.0f} views per reel"
        if profile.engagement_rate:
            numbers += f", {profile.engagement_rate:g}% engagement"
        parts.append(f"Posts mostly about {_listed(own_themes[:3]) or 'varied topics'}; {numbers}.")
    else:
        parts.append("No reels of theirs were analysed, so this rests on the bio and the stated strategy.")
    if strategy.contentType:
        parts.append(f'Describes their content as "{strategy.contentType}".')
    return shorten(" ".join(parts), 2000)


def _audience(analysis_input: AnalysisInput, own_themes: list[str]) -> str:
    strategy, reels = analysis_input.content_strategy, analysis_input.primary_reels
    addressed = sum(1 for reel in reels if _YOU.search(hook_of(reel)))
    evidence = (
        f"{addressed} of {len(reels)} of their reels open by talking to the viewer as 'you'." if reels else ""
    )
    if strategy.targetAudience:
        named = sum(1 for reel in reels if _mentions(reel, content_stems(strategy.targetAudience)))
        parts = [f"{strategy.targetAudience} (the stated target audience).", evidence]
        if reels:
            parts.append(f"The audience is named outright in {named} of them.")
        return shorten(" ".join(part for part in parts if part), 2000)
    topics = _listed(own_themes[:3]) or "the creator's niche"
    return shorten(f"People who want help with {topics}, inferred from the reels. {evidence}".strip(), 2000)


def _fallback_pains(topics: list[str]) -> list[str]:
    return [f"not knowing where to start with {topic}" for topic in topics[:3]]


def _strategy_fit(analysis_input: AnalysisInput, primary: Terms) -> str:
    strategy, reels = analysis_input.content_strategy, analysis_input.primary_reels
    if strategy.is_empty():
        return "No content strategy was given: topics and hooks follow competitor performance and the creator's reels."
    parts: list[str] = []
    covered = 0.0
    if strategy.contentType:
        wanted = content_stems(strategy.contentType)
        covered = _share(reels, wanted)
        matches = [primary.surface(key) for key in primary.keys() if set(key) <= wanted][:4]
        detail = f" ({_listed(matches)})" if matches else ""
        parts.append(f'Content type "{strategy.contentType}": {covered:.0%} of the reels touch it{detail}.')
    if strategy.targetAudience:
        named = _share(reels, content_stems(strategy.targetAudience))
        parts.append(f'Target audience "{strategy.targetAudience}": named in {named:.0%} of the reels.')
    if strategy.goals:
        asks = sum(1 for reel in reels if CALL_TO_ACTION.search(_last_sentence(reel)))
        parts.append(f'Goals "{strategy.goals}": {asks} of {len(reels)} reels end with a call to action.')
    if strategy.additionalNotes:
        parts.append(f'Notes taken into account: "{strategy.additionalNotes}".')
    if reels and strategy.contentType:
        verdict = "strong" if covered >= 0.5 else "partial" if covered >= 0.2 else "weak"
        parts.append(f"Overall fit between stated strategy and posted reels: {verdict}.")
    elif not reels:
        parts.append("With no reels analysed, the strategy alone steers the topics.")
    return shorten(" ".join(parts), 2000)


def _mentions(reel: ReelInput, wanted: set[str]) -> bool:
    return bool(wanted & set(key_of(f"{reel.transcript or ''} {reel.caption or ''}")))


def _share(reels: Sequence[ReelInput], wanted: set[str]) -> float:
    if not reels or not wanted:
        return 0.0
    return sum(1 for reel in reels if _mentions(reel, wanted)) / len(reels)


def _last_sentence(reel: ReelInput) -> str:
    said = sentences(reel.transcript or reel.caption or "")
    return said[-1] if said else ""


def _listed(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
