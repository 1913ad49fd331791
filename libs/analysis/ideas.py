"""New hooks for the creator: the best competitor hook skeletons, each aimed at an unexplored topic."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from .adapt import adapt
from .hooks import emotional_triggers, hook_of, power_words, type_label
from .models import AnalysisInput
from .results import Evidence, GeneratedHook, HookPattern, HookSource, HookType, ReelAnalysis
from .text import Terms, content_stems, key_of, shorten

# No more than this many sources of one hook type while other types are available.
_PER_TYPE = 2


def pick_sources(
    candidates: Sequence[ReelAnalysis], count: int, pattern_ranks: Mapping[HookType, int] | None = None
) -> list[ReelAnalysis]:
    """The best-ranked hook patterns first (patterns.py), most effective within each, with variety:
    distinct hooks, at most two per type, then repeats if we must."""
    ranks = pattern_ranks or {}
    unranked = len(ranks) + 1
    ranked = sorted(
        candidates,
        key=lambda item: (
            ranks.get(item.hook_type, unranked),
            -item.effectiveness_score,
            -item.outlier_score,
            item.content_id,
        ),
    )
    picked: list[ReelAnalysis] = []
    per_type: Counter[str] = Counter()
    texts: set[str] = set()
    for item in ranked:
        if len(picked) == count:
            break
        if per_type[item.hook_type] < _PER_TYPE and item.hook_text.lower() not in texts:
            picked.append(item)
            per_type[item.hook_type] += 1
            texts.add(item.hook_text.lower())
    chosen = {item.content_id for item in picked}
    for item in ranked:
        if len(picked) == count:
            break
        if item.content_id not in chosen:
            picked.append(item)
            chosen.add(item.content_id)
    # Fewer reels than hooks: the best skeletons serve again, each time for another topic.
    index = 0
    while picked and len(picked) < count:
        picked.append(picked[index])
        index += 1
    return picked[:count]


def assign_topics(sources: Sequence[ReelAnalysis], topics: Sequence[str]) -> list[str]:
    """Best topics first, each once while they last, and never the topic the source hook is already about
    (that would hand the creator the competitor's own hook back)."""
    used: Counter[str] = Counter()
    assigned = []
    for source in sources:
        said = set(key_of(source.hook_text))
        ranked = sorted(topics, key=lambda topic: (used[topic], topics.index(topic)))
        fresh = [topic for topic in ranked if not set(key_of(topic)) <= said]
        topic = (fresh or ranked)[0]
        used[topic] += 1
        assigned.append(topic)
    return assigned


def generated_hooks(
    analysis_input: AnalysisInput,
    sources: Sequence[ReelAnalysis],
    topics: Sequence[str],
    primary: Terms,
    competitors: Terms,
    audience: str,
    patterns: Sequence[HookPattern] = (),
    own_themes: Sequence[str] = (),
) -> list[GeneratedHook]:
    by_type = {pattern.hook_type: pattern for pattern in patterns}
    voice = creator_voice(analysis_input, own_themes)
    hooks = []
    for number, (source, topic) in enumerate(zip(sources, assign_topics(sources, topics), strict=True), 1):
        text = shorten(adapt(source.hook_text, source.hook_type, topic, audience), 500)
        pattern = by_type.get(source.hook_type)
        score, evidence = estimated_effectiveness(source, pattern)
        hooks.append(
            GeneratedHook(
                hook_text=text,
                hook_type=source.hook_type,
                adapted_from=HookSource(
                    content_id=source.content_id,
                    username=source.username,
                    shortcode=source.shortcode,
                    url=source.url,
                    original_hook=source.hook_text,
                    outlier_score=source.outlier_score,
                    view_count=source.view_count,
                ),
                target_topic=topic,
                why_it_fits=why_it_fits(analysis_input, source, topic, primary, competitors),
                hook_id=f"hook-{number}",
                original_competitor_hook=source.hook_text,
                source_reel_id=source.content_id,
                source_username=source.username,
                adaptation_strategy=_adaptation(source, topic, pattern),
                psychological_triggers=list(
                    dict.fromkeys([*source.psychological_principles, *emotional_triggers(text)])
                )[:10],
                power_words_used=power_words(text)[:30],
                estimated_effectiveness=score,
                effectiveness_evidence=evidence,
                creator_voice_elements=voice,
                pattern_rank=pattern.rank if pattern else None,
            )
        )
    return hooks


EFFECTIVENESS_RULE = (
    "min(10, 0.6*source_effectiveness + min(4, competitors_won)): the source reel's own score, "
    "plus one point per competitor its hook pattern wins at (up to four)"
)


def estimated_effectiveness(source: ReelAnalysis, pattern: HookPattern | None) -> tuple[float, Evidence]:
    won = pattern.competitors_won if pattern else 0
    score = round(min(10.0, 0.6 * source.effectiveness_score + min(4, won)), 1)
    ids = (
        [source.content_id, *(reel.content_id for reel in pattern.evidence)]
        if pattern
        else [source.content_id]
    )
    return (
        score,
        Evidence(
            reel_ids=list(dict.fromkeys(ids))[:60],
            inputs={
                "source_effectiveness": source.effectiveness_score,
                "source_outlier_score": source.outlier_score,
                "source_niche_outlier_score": source.niche_outlier_score,
                "competitors_won": won,
                "pattern_rank": pattern.rank if pattern else None,
                "pattern_strength": pattern.strength if pattern else None,
            },
            formula=EFFECTIVENESS_RULE,
        ),
    )


def _adaptation(source: ReelAnalysis, topic: str, pattern: HookPattern | None) -> str:
    parts = [
        f"Keeps the {type_label(source.hook_type)} skeleton of @{source.username}'s hook "
        f"({source.outlier_score:g}x their median) and swaps its subject for {topic}."
    ]
    if pattern:
        names = ", ".join(f"@{name}" for name in pattern.competitor_usernames[:5])
        parts.append(
            f"The pattern ranks #{pattern.rank}: it wins at {pattern.competitors_won} "
            f"competitor{'s' if pattern.competitors_won != 1 else ''} ({names}), template "
            f'"{shorten(pattern.template, 120)}".'
        )
    elif source.reel_type == "primary":
        parts.append("No competitor reels were given: it adapts one of the creator's own best hooks.")
    else:
        parts.append("No competitor outlier uses this hook type, so it rests on this one reel.")
    return shorten(" ".join(parts), 2000)


def creator_voice(analysis_input: AnalysisInput, own_themes: Sequence[str]) -> list[str]:
    """What keeps the hook in the creator's voice: their words, their way of addressing people."""
    reels = analysis_input.primary_reels
    found = []
    if reels and own_themes:
        found.append(f"Uses the creator's own words: {', '.join(own_themes[:3])}.")
    if reels:
        hooks = [hook_of(reel) for reel in reels]
        you = sum(1 for hook in hooks if " you" in f" {hook.lower()}")
        asks = sum(1 for hook in hooks if "?" in hook)
        found.append(
            f"Talks to 'you' as {you} of the creator's {len(reels)} hooks do."
            if you
            else "Keeps the creator's neutral voice: none of their hooks talk to 'you'."
        )
        if asks:
            found.append(f"Questions are familiar to their audience: {asks} of their hooks ask one.")
    strategy = analysis_input.content_strategy
    if strategy.additionalNotes:
        found.append(f'Follows the creator\'s note: "{shorten(strategy.additionalNotes, 200)}".')
    return found or ["No reels of the creator yet: written in a plain, direct voice."]


def why_it_fits(
    analysis_input: AnalysisInput, source: ReelAnalysis, topic: str, primary: Terms, competitors: Terms
) -> str:
    strategy, username = analysis_input.content_strategy, analysis_input.primary.username
    views = f"{source.view_count:,} views" if source.view_count else "views not reported"
    parts = [
        f"Reuses the {type_label(source.hook_type)} skeleton of @{source.username}'s "
        f'"{shorten(source.hook_text, 120)}" ({source.outlier_score:g}x their median, {views}).'
    ]
    key = key_of(topic)
    theirs, ours = competitors.share(key), primary.share(key)
    if theirs:
        parts.append(
            f"{topic.capitalize()} appears in {theirs:.0%} of competitor top reels and {ours:.0%} of @{username}'s."
        )
    else:
        parts.append(f"{topic.capitalize()} is a new angle for @{username}.")
    if strategy.targetAudience:
        parts.append(f'It speaks to the stated audience, "{strategy.targetAudience}".')
    else:
        parts.append(f"It speaks to the people @{username} already reaches.")
    if strategy.contentType:
        inside = content_stems(strategy.contentType) & set(key)
        verb = "stays inside" if inside else "widens"
        parts.append(f'It {verb} the stated content type, "{strategy.contentType}".')
    if strategy.goals:
        parts.append(f'Its call to action serves the goal "{strategy.goals}".')
    return shorten(" ".join(parts), 2000)
