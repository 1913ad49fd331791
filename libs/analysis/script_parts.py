"""What turns a script's four parts into something to film: seconds per part, timing markers, a shot list,
production notes, key messages and why it should work."""

from __future__ import annotations

from collections.abc import Sequence

from .hooks import type_label
from .models import ContentStrategy
from .results import GeneratedHook, ProductionNotes, Segment, Shot, StructureBreakdown
from .text import shorten

PARTS = ("hook", "problem", "solution", "call_to_action")
LABELS = {"hook": "HOOK", "problem": "PROBLEM", "solution": "SOLUTION", "call_to_action": "CALL TO ACTION"}
_TONES: dict[str, str] = {
    "question": "curious and warm: ask it as if you really want their answer",
    "number_list": "brisk and confident: count the items off",
    "contrarian": "firm and a little provocative, then reassuring",
    "story": "personal and honest, as if telling a friend",
    "how_to": "clear and practical, a teacher's voice",
    "bold_claim": "confident, with proof right behind the claim",
    "curiosity_gap": "conspiratorial: lean in, lower the voice on the reveal",
    "direct_address": "direct and friendly, eye contact with the lens",
}


def seconds_per_part(texts: Sequence[str], total: int) -> list[int]:
    """`total` seconds shared by spoken words (largest remainder), every part at least one second."""
    counts = [max(1, len(text.split())) for text in texts]
    spare = total - len(counts)
    shares = [spare * count / sum(counts) for count in counts]
    seconds = [1 + int(share) for share in shares]
    order = sorted(range(len(counts)), key=lambda i: (-(shares[i] - int(shares[i])), i))
    for index in order[: total - sum(seconds)]:
        seconds[index] += 1
    return seconds


def clock(second: int) -> str:
    return f"{second // 60}:{second % 60:02d}"


def breakdown(texts: Sequence[str], total: int) -> StructureBreakdown:
    at, segments = 0, {}
    for part, text, seconds in zip(PARTS, texts, seconds_per_part(texts, total), strict=True):
        segments[part] = Segment(text=text, start_second=at, end_second=at + seconds, seconds=seconds)
        at += seconds
    return StructureBreakdown(**segments)


def marked_script(structure: StructureBreakdown) -> str:
    """The spoken script with a "[0:00-0:04] HOOK:" marker before each part."""
    return "\n".join(
        f"[{clock(s.start_second)}-{clock(s.end_second)}] {LABELS[name]}: {s.text}"
        for name, s in structure.segments()
    )


def shots(structure: StructureBreakdown, steps: Sequence[str], topic: str) -> list[Shot]:
    """One shot per part; the solution gets one per step when it lasts long enough to cut that often."""
    plan: list[tuple[str, int, int, str, str]] = []
    for name, segment in structure.segments():
        if name == "solution" and len(steps) > 1 and segment.seconds >= 2 * len(steps):
            cuts = seconds_per_part(steps, segment.seconds)
            at = segment.start_second
            for number, (step, seconds) in enumerate(zip(steps, cuts, strict=True), 1):
                plan.append((name, at, at + seconds, f"Demonstrate step {number}: {step}", f"Step {number}"))
                at += seconds
            continue
        plan.append((name, segment.start_second, segment.end_second, *_shot_text(name, segment.text, topic)))
    return [
        Shot(
            shot=number,
            start_second=start,
            end_second=end,
            segment=name,  # type: ignore[arg-type]
            description=shorten(description, 500),
            on_screen_text=shorten(text, 500),
        )
        for number, (name, start, end, description, text) in enumerate(plan, 1)
    ]


def _shot_text(name: str, text: str, topic: str) -> tuple[str, str]:
    if name == "hook":
        return "Close-up to camera, no intro: say the hook in the first frame.", text
    if name == "problem":
        return f"Show the problem: the usual {topic} struggle, on screen or acted out.", "Sound familiar?"
    if name == "solution":
        return f"Show the fix for {topic} being done, hands and result in frame.", "Here's what works"
    return "Back to camera, point to where to act (comments, follow button).", text


def production_notes(
    hook: GeneratedHook, structure: StructureBreakdown, strategy: ContentStrategy
) -> ProductionNotes:
    total = structure.call_to_action.end_second
    words = sum(len(s.text.split()) for _, s in structure.segments())
    tone = _TONES[hook.hook_type]
    if strategy.additionalNotes:
        tone = f"{tone}; {strategy.additionalNotes}"
    emphasis = [f'Stress "{word}" in the hook.' for word in hook.power_words_used[:3]]
    emphasis.append(
        f"Land the topic, {hook.target_topic}, within the first {structure.hook.seconds} seconds."
    )
    return ProductionNotes(
        tone=shorten(tone, 500),
        pacing=shorten(
            f"{words} words in {total} seconds ({words / total:.1f} words a second); a cut every "
            f"{max(1, round(total / max(1, len(structure.segments()))))} seconds or so, the hook in "
            f"{structure.hook.seconds}s.",
            500,
        ),
        emphasis=shorten(" ".join(emphasis), 2000),
        emphasis_points=[shorten(item, 500) for item in emphasis],
    )


def key_messages(problem: str, steps: Sequence[str], call: str) -> list[str]:
    return [shorten(text, 500) for text in (problem, *steps, call)][:10]


def success_factors(hook: GeneratedHook) -> list[str]:
    evidence = hook.effectiveness_evidence.inputs
    source = hook.adapted_from
    found = [
        f"Reuses a {type_label(hook.hook_type)} hook from @{source.username}'s reel {source.content_id} "
        f"at {source.outlier_score:g}x their median views."
    ]
    won = evidence.get("competitors_won") or 0
    if won:
        found.append(f"Its hook pattern ranks #{hook.pattern_rank}: it wins at {won:g} competitors.")
    niche = evidence.get("source_niche_outlier_score")
    if niche is not None:
        found.append(f"The source reel beat its niche's median {niche:g}x too.")
    found.append(f"Aims at {hook.target_topic}, a topic the creator has not covered yet.")
    found.append(f"Estimated effectiveness {hook.estimated_effectiveness:g}/10.")
    return [shorten(item, 500) for item in found]
