"""A new hook for an unexplored topic that keeps the skeleton of a competitor hook that worked.

The skeleton is the hook minus its subject: "5 fat loss tips nobody tells you." becomes
"5 {topic} tips nobody tells you.". Hooks no rule recognises get their type's usual form.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .lexicon import LIST_NOUNS, NUMBER_WORDS, POWER_WORDS
from .results import HookType
from .text import is_content_word, words

_NUMBER = rf"\d+|{'|'.join(sorted(NUMBER_WORDS))}"
_END = r"(?P<end>[.?!]*)$"
Build = Callable[[re.Match[str], str], str]


def adapt(hook: str, hook_type: HookType, topic: str, audience: str = "") -> str:
    text = hook.strip()
    for pattern, build in _SKELETONS:
        match = pattern.search(text)
        if match:
            return _sentence(build(match, topic))
    return _sentence(_fallback(text, hook_type, topic, audience))


def _generic(rest: str | None) -> bool:
    """True when a hook's tail has no subject words of its own, so it fits any topic."""
    return all(not is_content_word(word) or word in POWER_WORDS for word in words(rest or ""))


def _tail(rest: str | None, default: str) -> str:
    return rest if rest and _generic(rest) else default


def _end(match: re.Match[str], default: str = ".") -> str:
    return match.group("end") or default


def _rule(pattern: str, build: Build) -> tuple[re.Pattern[str], Build]:
    return re.compile(pattern, re.IGNORECASE), build


_SKELETONS: tuple[tuple[re.Pattern[str], Build], ...] = (
    _rule(
        rf"^(?P<head>.{{0,80}}\babout )(?P<slot>[^.?!,]+?)(?P<after> sooner| now| today| yet| anymore)?{_END}",
        lambda m, t: f"{m['head']}{t}{m['after'] or ''}{_end(m)}",
    ),
    _rule(
        rf"^(?P<n>{_NUMBER}) (?P<slot>[^.?!]*?)\s*(?P<noun>{'|'.join(LIST_NOUNS)})\b(?P<rest>[^.?!]*){_END}",
        lambda m, t: _listed(m["n"], t, m["noun"], _tail(m["rest"], " nobody tells you"), _end(m)),
    ),
    _rule(
        rf"^stop (?P<slot>[^.?!]+?)(?P<rest> if you [^.?!]+)?{_END}", lambda m, t: f"Stop overthinking {t}."
    ),
    _rule(r"^(?:you'?re|you are) doing (?P<slot>.+?) wrong\b", lambda m, t: f"You're doing {t} wrong."),
    _rule(r"^are you still (?P<slot>[^?]+)\?", lambda m, t: f"Are you still sleeping on {t}?"),
    _rule(
        rf"^(?P<det>this|the) (?P<slot>.+?) (?P<noun>mistake|trick|secret|habit|rule|hack)\b(?P<rest>[^.?!]*){_END}",
        lambda m, t: (
            f"{m['det']} {t} {m['noun']}"
            + _tail(
                m["rest"], " is costing you more than you think" if m["noun"] == "mistake" else " nobody uses"
            )
            + _end(m)
        ),
    ),
    _rule(
        rf"^i tried (?P<slot>.+?) for (?P<n>{_NUMBER}) (?P<unit>days|weeks|months)(?P<rest>[^.?!]*){_END}",
        lambda m, t: f"I tried {t} for {m['n']} {m['unit']}{_tail(m['rest'], ' and here is what happened')}.",
    ),
    _rule(
        r"^want (?P<slot>[^?]+)\?\s*(?P<rest>.*)$",
        lambda m, t: f"Want to get good at {t}? {_tail(m['rest'], 'Do this instead.') or 'Do this instead.'}",
    ),
    _rule(
        rf"^(?P<lead>here'?s how to|how to) (?P<slot>.+?)(?P<time> in (?:{_NUMBER}) (?:days|weeks|minutes))?{_END}",
        lambda m, t: f"{m['lead']} get started with {t}{m['time'] or ''}{_end(m)}",
    ),
    _rule(
        r"^nobody wants to hear this, but (?P<slot>.+?) (?P<verb>is|are) (?P<rest>[^.?!]+)",
        lambda m, t: f"Nobody wants to hear this, but {t} is {_tail(m['rest'], 'simpler than you think')}.",
    ),
)


def _listed(number: str, topic: str, noun: str, tail: str, end: str) -> str:
    # "3 protein for busy moms tips" reads badly; a topic with its own audience goes after the noun.
    if " for " in topic:
        return f"{number} {noun} on {topic}{tail}{end}"
    return f"{number} {topic} {noun}{tail}{end}"


def _fallback(hook: str, hook_type: HookType, topic: str, audience: str) -> str:
    number = _first(rf"\b({_NUMBER})\b", hook, "3")
    span = _first(rf"\b((?:{_NUMBER}) (?:days|weeks|months))\b", hook, "30 days")
    forms: dict[str, str] = {
        "question": f"Why is nobody talking about {topic}?",
        "number_list": _listed(number, topic, "tips", " nobody tells you", "."),
        "contrarian": f"Stop overthinking {topic}.",
        "story": f"I tried {topic} for {span} and here is what happened.",
        "how_to": f"Here's how to get started with {topic}.",
        "bold_claim": f"{topic} is the most underrated skill you can learn this year.",
        "curiosity_gap": f"The {topic} trick nobody is talking about.",
        "direct_address": (
            f"{audience}, you need to hear this about {topic}."
            if audience
            else f"You need to hear this about {topic}."
        ),
    }
    return forms[hook_type]


def _first(pattern: str, text: str, default: str) -> str:
    match = re.search(pattern, text, re.IGNORECASE)
    return match.group(1) if match else default


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if text and text[-1] not in ".?!":
        text += "."
    return text[:1].upper() + text[1:]
