"""Reading a reel's hook: where it is, what kind it is, what words and feelings it leans on, how well it did."""

from __future__ import annotations

import math
import re
from functools import lru_cache

from .lexicon import EMOTIONAL_TRIGGERS, LIST_NOUNS, NUMBER_WORDS, POWER_WORDS, SUPERLATIVES
from .models import ReelInput
from .results import HookType
from .text import sentences, shorten, words

HOOK_LIMIT = 300

_LIST_OPENER = re.compile(rf"^(\d+|{'|'.join(sorted(NUMBER_WORDS))})\b")
_N_THINGS = re.compile(rf"\b(\d+|{'|'.join(sorted(NUMBER_WORDS))}) ({'|'.join(LIST_NOUNS)})\b")
_HOW_TO = re.compile(r"\bhow to\b|^here'?s how\b|\bstep by step\b|^how you can\b")
_CONTRARIAN = re.compile(
    r"^stop\b|\bstop \w+ing\b|\bnever\b|\bdon'?t\b|\bmyths?\b|\bwrong\b|nobody wants to hear|"
    r"unpopular opinion|\boverrated\b|\bis a lie\b"
)
_STORY = re.compile(r"^(i|i'm|i've|i was|my|when i|last (year|month|week) i|so i)\b")
_CURIOSITY = re.compile(
    r"\bsecrets?\b|\btricks?\b|nobody (tells|is talking|talks)|what happened|^here'?s what\b|"
    r"^(this|the one|the real|the) .*\b(mistake|reason|habit|rule|hack)\b|\bchanged everything\b|"
    r"\bno one\b|\bwait (for|until)\b"
)

_TYPE_WEIGHT: dict[str, float] = {
    "contrarian": 2.0,
    "curiosity_gap": 1.9,
    "number_list": 1.8,
    "question": 1.6,
    "how_to": 1.6,
    "story": 1.5,
    "bold_claim": 1.4,
    "direct_address": 1.0,
}
_TYPE_LABEL: dict[str, str] = {
    "question": "question",
    "number_list": "numbered list",
    "contrarian": "contrarian",
    "story": "personal story",
    "how_to": "how-to",
    "bold_claim": "bold claim",
    "curiosity_gap": "curiosity gap",
    "direct_address": "direct address",
}


def hook_of(reel: ReelInput) -> str:
    """The opening line of the transcript, else of the caption; a short question keeps its answer."""
    return _hook_of(reel.transcript, reel.caption)


# Every step reads each reel's hook again; reading it once per text keeps the creator's 200 reels cheap.
@lru_cache(maxsize=4096)
def _hook_of(transcript: str | None, caption: str | None) -> str:
    for text in (transcript, caption):
        parts = sentences(text or "")
        if not parts:
            continue
        hook = parts[0]
        if hook.endswith("?") and len(hook.split()) < 5 and len(parts) > 1:
            hook = f"{hook} {parts[1]}"
        return shorten(hook, HOOK_LIMIT)
    return ""


def classify(hook: str) -> HookType:
    """Rules in order of how specific they are: a numbered how-to is a how-to, not just a list.

    What no rule claims talks to the viewer plainly ("Your starter is hungry"): direct_address.
    """
    text = " ".join(words(hook))
    if not text:
        return "direct_address"
    if _HOW_TO.search(text):
        return "how_to"
    if _LIST_OPENER.search(text) or _N_THINGS.search(text):
        return "number_list"
    if "?" in hook:
        return "question"
    if _CONTRARIAN.search(text):
        return "contrarian"
    if _STORY.search(text):
        return "story"
    if _CURIOSITY.search(text):
        return "curiosity_gap"
    if any(word in SUPERLATIVES or word.endswith("iest") for word in text.split()):
        return "bold_claim"
    return "direct_address"


def power_words(hook: str) -> list[str]:
    found: dict[str, None] = {}
    for word in words(hook):
        if word in POWER_WORDS:
            found.setdefault(word)
    return list(found)


def emotional_triggers(hook: str) -> list[str]:
    text = f" {' '.join(words(hook))} "
    found = [name for name, cues in EMOTIONAL_TRIGGERS if any(cue in text for cue in cues)]
    if "?" in hook and "curiosity" not in found:
        found.insert(0, "curiosity")
    return found


def effectiveness(hook: str, hook_type: str, outlier_score: float) -> float:
    """0-10: how far the reel beat its creator (log-scaled, up to 5), the hook's form (up to 5)."""
    return effectiveness_parts(hook, hook_type, outlier_score)["score"]


def effectiveness_parts(hook: str, hook_type: str, outlier_score: float) -> dict[str, float]:
    """The effectiveness score and the numbers it is the sum of: reach_points = 5 * min(1, ln(1 + outlier)
    / ln(31)); length_points 1.5 at 5-14 words, 1 at 3-20, else 0.5; wording_points = min(1, 0.35 * power
    words) + min(0.5, 0.25 * emotional triggers)."""
    reach = 5 * _reach(outlier_score)
    if not hook:
        return {"score": round(reach, 1), "reach_points": round(reach, 2), "outlier_score": outlier_score}
    count = len(hook.split())
    length = 1.5 if 5 <= count <= 14 else 1.0 if 3 <= count <= 20 else 0.5
    powers, triggers = len(power_words(hook)), len(emotional_triggers(hook))
    wording = min(1.0, 0.35 * powers) + min(0.5, 0.25 * triggers)
    score = reach + _TYPE_WEIGHT[hook_type] + length + wording
    return {
        "score": round(min(10.0, max(0.0, score)), 1),
        "reach_points": round(reach, 2),
        "outlier_score": outlier_score,
        "type_points": _TYPE_WEIGHT[hook_type],
        "hook_words": count,
        "length_points": length,
        "power_words": powers,
        "emotional_triggers": triggers,
        "wording_points": round(wording, 2),
    }


# Short, as each reel analysis repeats it: the parts are in effectiveness_parts, the rule in its docstring.
EFFECTIVENESS_FORMULA = "min(10, reach_points + type_points + length_points + wording_points)"


def why_it_works(hook: str, hook_type: str, outlier_score: float, views: int | None) -> str:
    if not hook:
        return (
            f"No spoken or written hook; it reached {_reach_phrase(outlier_score, views)} on visuals alone."
        )
    parts = [f"{type_label(hook_type).capitalize()} hook that reached {_reach_phrase(outlier_score, views)}."]
    wording, triggers = power_words(hook), emotional_triggers(hook)
    if wording:
        parts.append(f"It leans on {_quoted(wording)}.")
    if triggers:
        parts.append(f"It plays on {', '.join(triggers)}.")
    count = len(hook.split())
    parts.append(
        f"At {count} words it lands before the first swipe."
        if count <= 14
        else f"At {count} words it asks for patience; a tighter cut may hold more viewers."
    )
    return " ".join(parts)


def type_label(hook_type: str) -> str:
    return _TYPE_LABEL[hook_type]


def _reach(outlier_score: float) -> float:
    # 30x the creator's median counts as the ceiling; log scale so 3x already earns a third.
    return min(1.0, math.log1p(max(0.0, outlier_score)) / math.log1p(30))


def _reach_phrase(outlier_score: float, views: int | None) -> str:
    seen = f"{views:,} views" if views else "an unknown number of views"
    return f"{outlier_score:g}x its creator's median ({seen})"


def _quoted(items: list[str]) -> str:
    return ", ".join(f'"{item}"' for item in items[:5])
