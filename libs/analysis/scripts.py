"""A short script per generated hook: the hook, the viewer's problem, steps that solve it, one ask."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .hooks import hook_of, type_label
from .lexicon import CALL_TO_ACTION
from .models import ContentStrategy, ReelInput
from .results import GeneratedHook, Script
from .script_parts import breakdown, key_messages, marked_script, production_notes, shots, success_factors
from .text import content_stems, content_words, key_of, sentences, shorten, stem, words

WORDS_PER_SECOND = 2.5
MAX_WORDS = 150  # about a minute spoken

# Goal words -> the ask that serves them; the first goal word the creator wrote decides.
_GOAL_CTAS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("sale", "sell", "lead", "client", "customer", "product", "course", "coaching", "program", "offer",
         "newsletter", "email", "signup", "booking"),
        "Comment {word} and I'll send you my free {topic} guide.",
    ),
    (
        ("follower", "grow", "growth", "audience", "reach", "viral", "view", "subscriber"),
        "Follow for more on {topic}{for_audience}.",
    ),
    (
        ("engagement", "community", "conversation", "interact", "comment"),
        "Tell me in the comments: what is your biggest question about {topic}?",
    ),
    (
        ("brand", "awareness", "authority", "trust", "credibility", "known", "recognition"),
        "Send this to someone who needs it, and follow for more on {topic}.",
    ),
    (
        ("save", "value", "educate", "teach", "help", "inspire"),
        "Save this so you have it the next time you work on {topic}.",
    ),
)  # fmt: skip


_PLAIN_PROBLEMS = (
    "Most {who} want results from {subject} but don't know where to start.",
    "Most {who} try {subject} once, see nothing change, and give up.",
    "Most {who} think {subject} takes more time than they have.",
    "Most {who} get buried in conflicting advice about {subject}.",
)
# A sentence opening like this describes or refers back ("It costs a fortune"); it rarely teaches a step.
_NOT_A_STEP = frozenset("it they this that these those he she we i my our there".split())


@dataclass(frozen=True)
class Tip:
    """A sentence from a competitor's top reel that teaches something, with the reel's effectiveness."""

    text: str
    stems: frozenset[str]
    # Every word of the reel it comes from: a tip belongs to the topics its reel is about.
    reel_stems: frozenset[str]
    weight: float


def tips_from(reels: Sequence[ReelInput], effectiveness: dict[str, float]) -> list[Tip]:
    """Teaching sentences of the reels: not the hook, not the call to action, not filler like "Okay, listen."."""
    found: dict[str, Tip] = {}
    for reel in reels:
        hook = hook_of(reel)
        everything = frozenset(key_of(f"{reel.caption or ''} {reel.transcript or ''}"))
        for sentence in sentences(reel.transcript or reel.caption or ""):
            if sentence in hook or CALL_TO_ACTION.search(sentence) or len(content_words(sentence)) < 2:
                continue
            if not 5 <= len(sentence.split()) <= 35 or sentence in found or not _teaches(sentence):
                continue
            stems = frozenset(content_stems(sentence))
            weight = effectiveness.get(reel.content_id, 0.0)
            found[sentence] = Tip(shorten(sentence, 300), stems, everything, weight)
    return list(found.values())


def build_script(
    hook: GeneratedHook,
    pains: Sequence[str],
    tips: Sequence[Tip],
    strategy: ContentStrategy,
    audience: str,
    used: set[str],
    number: int = 0,
) -> Script:
    """`used` carries the steps earlier scripts took, so five scripts do not teach the same three steps."""
    topic = hook.target_topic
    problem = _problem(topic, pains, audience, number)
    call = call_to_action(strategy, topic, audience)
    steps = _steps(_subject(topic, audience), tips, strategy, used)
    while True:
        solution = _solution(topic, steps)
        full = " ".join((hook.hook_text, problem, solution, call))
        count = len(full.split())
        if count <= MAX_WORDS or len(steps) <= 1:
            break
        steps = steps[:-1]
    used.update(steps)
    # Four parts of at least a second each.
    duration = max(4, round(count / WORDS_PER_SECOND))
    structure = breakdown((hook.hook_text, problem, solution, call), duration)
    return Script(
        hook=hook.hook_text,
        problem=problem,
        solution=solution,
        call_to_action=call,
        estimated_duration_seconds=duration,
        full_script=marked_script(structure),
        word_count=count,
        title=shorten(f"{topic[:1].upper()}{topic[1:]}: a {type_label(hook.hook_type)} reel", 500),
        structure_breakdown=structure,
        key_messaging=key_messages(problem, steps, call),
        visual_suggestions=shots(structure, steps, topic),
        production_notes=production_notes(hook, structure, strategy),
        success_factors=success_factors(hook),
    )


def call_to_action(strategy: ContentStrategy, topic: str, audience: str) -> str:
    # Every word counts here, "followers" and "comments" too, which topic reading skips as filler.
    for word in words(f"{strategy.goals} {strategy.additionalNotes}"):
        for cues, form in _GOAL_CTAS:
            if stem(word) in cues or word in cues:
                return form.format(
                    topic=topic,
                    word=_keyword(_subject(topic, audience)),
                    for_audience=f" for {audience}" if audience and audience not in topic else "",
                )
    return f"Save this and follow for more on {topic}."


def _subject(topic: str, audience: str) -> str:
    """The topic without the audience some topics carry ("protein for busy moms" -> "protein")."""
    return topic.removesuffix(f" for {audience}") if audience else topic


def _keyword(subject: str) -> str:
    """The word to comment for the guide, as creators write it: MEALPREP, or one word if that runs long."""
    joined = "".join(content_words(subject)).upper()
    return joined if 0 < len(joined) <= 16 else (content_words(subject) or ["guide"])[-1].upper()


def _problem(topic: str, pains: Sequence[str], audience: str, number: int) -> str:
    """A pain the reels name about this topic; else one of a few plain ones, varied across scripts."""
    who = audience or "people"
    subject = _subject(topic, audience)
    wanted = content_stems(subject)
    related = [pain for pain in pains if wanted & content_stems(pain)]
    if not related:
        return _PLAIN_PROBLEMS[number % len(_PLAIN_PROBLEMS)].format(who=who, subject=subject)
    # Pains are quoted from hooks that talk to the viewer; the script talks about the audience.
    pain = re.sub(r"\byour\b", "their", related[0])
    if pain.split()[0].endswith("ing"):
        return f"Most {who} are still {pain}, and it holds them back."
    return f"Most {who} hit the same wall with {subject}: {pain}."


def _steps(subject: str, tips: Sequence[Tip], strategy: ContentStrategy, used: set[str]) -> list[str]:
    """Up to three tips: those about the topic first, then those near the strategy, then fresh ones."""
    wanted = content_stems(subject)
    focus = content_stems(f"{strategy.contentType} {strategy.targetAudience}")

    def rank(tip: Tip) -> tuple[float, str]:
        fresh = 0.0 if tip.text in used else 1.5
        same_reel = 1.5 if wanted and wanted <= tip.reel_stems else 0.0
        score = 2 * len(wanted & tip.stems) + same_reel + len(focus & tip.stems) + fresh + tip.weight / 10
        return (-score, tip.text)

    return [tip.text for tip in sorted(tips, key=rank)[:3]]


def _teaches(sentence: str) -> bool:
    return sentence.split()[0].lower().strip(",") not in _NOT_A_STEP


def _solution(topic: str, steps: Sequence[str]) -> str:
    if not steps:
        return f"Here's what works instead: pick one {topic} habit, do it daily for a week, and track what changes."
    leads = ("First,", "Then,", "Finally,") if len(steps) == 3 else ("First,", "Then,")
    said = [f"{lead} {_lower_first(step)}" for lead, step in zip(leads, steps, strict=False)]
    if len(steps) == 1:
        said = [steps[0]]
    return "Here's what works instead. " + " ".join(said)


def _lower_first(sentence: str) -> str:
    first = sentence.split(" ", 1)[0]
    # "I", acronyms and names keep their capital.
    if first == "I" or first.startswith("I'") or (len(first) > 1 and not first[1:].islower()):
        return sentence
    return sentence[:1].lower() + sentence[1:]
