"""New hooks for the creator: the best competitor hook skeletons, each aimed at an unexplored topic."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from .adapt import adapt
from .hooks import type_label
from .models import AnalysisInput
from .results import GeneratedHook, HookSource, ReelAnalysis
from .text import Terms, content_stems, key_of, shorten

# No more than this many sources of one hook type while other types are available.
_PER_TYPE = 2


def pick_sources(candidates: Sequence[ReelAnalysis], count: int) -> list[ReelAnalysis]:
    """Most effective first, with variety: distinct hooks, at most two per type, then repeats if we must."""
    ranked = sorted(
        candidates, key=lambda item: (-item.effectiveness_score, -item.outlier_score, item.content_id)
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
) -> list[GeneratedHook]:
    hooks = []
    for source, topic in zip(sources, assign_topics(sources, topics), strict=True):
        hooks.append(
            GeneratedHook(
                hook_text=shorten(adapt(source.hook_text, source.hook_type, topic, audience), 500),
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
            )
        )
    return hooks


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
