"""What the creator talks about, and the topics competitors win with that the creator has not taken on."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .hooks import hook_of
from .lexicon import CALL_TO_ACTION
from .models import AnalysisInput, ContentStrategy, ReelInput
from .text import Key, Terms, content_stems, key_of, overlaps, shorten, strategy_phrases

MIN_TOPICS = 5
MAX_TOPICS = 8
# A topic the creator touches in at least this share of their reels is theirs already.
COVERED_SHARE = 0.1
# Longer phrases are more specific topics: "air fryer recipes" says more than "recipes".
_LENGTH_BONUS = {1: 1.0, 2: 1.4, 3: 1.6}

_ASIDES = tuple(
    re.compile(pattern, re.I)
    for pattern in (
        r"\bstop [^.?!]+?(?= if you\b|[.?!]|$)",
        r"\bare you still [^?]+",
        r"\bif you want [^.?!]+",
        r"(?:^|(?<=[.!?] )|(?<=\n))want [^?]+",
        r"\bcosting you [^.?!]+",
        r"\bhow to get [^.?!]+?(?= in \w+ (?:days|weeks|months)|[.?!]|$)",
        r"\bhelping you get [^.?!]+",
    )
)
_CLAUSE_END = re.compile(r"(?<=[.!?])\s+|\n")


def reel_texts(reels: Sequence[ReelInput]) -> list[tuple[str, str]]:
    """(headline: hook and caption, body: transcript) per reel, without the habits and wishes they name."""
    return [
        (_topic_words(f"{hook_of(reel)}\n{reel.caption or ''}"), _topic_words(reel.transcript or ""))
        for reel in reels
    ]


def about_texts(analysis_input: AnalysisInput) -> list[tuple[str, str]]:
    """The creator's own words about themselves, for a creator without reels."""
    profile, strategy = analysis_input.primary, analysis_input.content_strategy
    return [(_topic_words(profile.bio), _topic_words(strategy.contentType))]


def _topic_words(text: str) -> str:
    # A call to action names a keyword ("Comment PLAN"), not a topic.
    text = "\n".join(part for part in _CLAUSE_END.split(text) if not CALL_TO_ACTION.search(part))
    # "Stop doing endless cardio if you want visible abs": a habit and a wish, not what the reel is about.
    for pattern in _ASIDES:
        text = pattern.sub(" , ", text)
    return text


def themes(terms: Terms, limit: int = MAX_TOPICS) -> list[str]:
    """Most mentioned phrases, longer ones weighted up, none sharing a word with another.

    Phrases from hooks and captions come first: they say what a reel is about; transcripts fill in.
    """
    ranked = sorted(
        terms.keys(), key=lambda key: (not terms.in_headlines[key], -_theme_score(terms, key), key)
    )
    chosen: list[Key] = []
    for key in ranked:
        # With many reels, a phrase said once is noise rather than a theme.
        if terms.reels >= 4 and terms.anywhere[key] < 2:
            continue
        if not terms.topic_shaped(key) or overlaps(key, chosen):
            continue
        chosen.append(key)
        if len(chosen) == limit:
            break
    return [terms.surface(key) for key in chosen]


def _theme_score(terms: Terms, key: Key) -> float:
    # Words said count fully; a hashtag alone counts half, as creators tag broadly.
    tagged_only = terms.anywhere[key] - terms.spoken[key]
    return (terms.spoken[key] + tagged_only / 2 + 2 * terms.in_headlines[key]) * _LENGTH_BONUS[len(key)]


def focus_keys(strategy: ContentStrategy) -> set[str]:
    """The stems the creator's strategy is about; topics that share them rank higher."""
    return content_stems(
        " ".join((strategy.contentType, strategy.targetAudience, strategy.goals, strategy.additionalNotes))
    )


def unexplored_topics(
    primary: Terms, competitors: Terms, strategy: ContentStrategy, own_themes: Sequence[str] = ()
) -> list[str]:
    """Strategy topics the creator has not posted about, then competitor topics the creator rarely covers."""
    focus = focus_keys(strategy)
    gaps: dict[Key, float] = {}
    underused: dict[Key, float] = {}
    surfaces: dict[Key, str] = {}
    for key in competitors.keys():
        # What a competitor reel is about shows in its headline; a word deep in a transcript is not a topic.
        on_strategy = set(key) <= focus and competitors.spoken[key] >= 2
        if not (competitors.in_headlines[key] or on_strategy) or not competitors.topic_shaped(key):
            continue
        theirs, ours = competitors.said_share(key), primary.share(key)
        fit = 1.0 + (1.0 if focus & set(key) else 0.0) + _together(competitors, key, focus)
        score = (theirs - ours + 2 * competitors.headline_share(key)) * fit * _LENGTH_BONUS[len(key)]
        surfaces[key] = competitors.surface(key)
        if ours < COVERED_SHARE or ours <= theirs / 2:
            gaps[key] = score
        elif theirs > ours:
            underused[key] = score
    for phrase in strategy_phrases(strategy.contentType):
        key = key_of(phrase)
        if primary.words_share(key) < COVERED_SHARE:
            gaps[key] = max(gaps.get(key, 0.0), 2.0 + competitors.share(key))
            surfaces[key] = phrase
    chosen: list[Key] = []
    # Topics the creator covers less than competitors do only fill in when true gaps run out.
    for scores in (gaps, underused):
        for key in sorted(scores, key=lambda key: (-scores[key], key)):
            if len(chosen) >= MAX_TOPICS or (scores is underused and len(chosen) >= MIN_TOPICS):
                break
            if not overlaps(key, chosen):
                chosen.append(key)
    return _at_least_five(
        [surfaces[key] for key in chosen], own_themes, competitors, strategy, primary.reels > 0
    )


def _together(terms: Terms, key: Key, focus: set[str]) -> float:
    """Share of the reels mentioning `key` that also mention the strategy's words."""
    if not focus:
        return 0.0
    with_key = [doc for doc in terms.docs if key in doc]
    if not with_key:
        return 0.0
    return sum(1 for doc in with_key if any(focus & set(other) for other in doc)) / len(with_key)


def _at_least_five(
    topics: list[str], own: Sequence[str], competitors: Terms, strategy: ContentStrategy, has_reels: bool
) -> list[str]:
    """Topics for thin inputs: the creator's themes for the stated audience, competitor themes, plain angles.

    A creator without reels has covered nothing yet, so the themes of their bio count as unexplored.
    """
    found = dict.fromkeys(topics)
    audience = audience_short(strategy)
    if audience:
        for theme in own:
            if len(found) >= MIN_TOPICS:
                break
            found.setdefault(f"{theme} for {audience}")
    taken = [key_of(topic) for topic in found]
    for theme in [*themes(competitors), *own] if has_reels else [*own, *themes(competitors)]:
        if len(found) >= MIN_TOPICS:
            break
        if not overlaps(key_of(theme), taken):
            found.setdefault(theme)
            taken.append(key_of(theme))
    core = (list(own) or themes(competitors) or strategy_phrases(strategy.contentType) or ["your niche"])[0]
    for angle in ("myths", "for beginners", "mistakes", "routines", "tools", "results"):
        if len(found) >= MIN_TOPICS:
            break
        found.setdefault(f"{core} {angle}")
    # Bounded like every stored word; the audience variants can run long.
    return [shorten(topic, 100) for topic in found]


def audience_short(strategy: ContentStrategy) -> str:
    """The first group the strategy names: "Entrepreneurs, Small Business Owners" -> "entrepreneurs"."""
    first = re.split(r"[,;/\n]|\band\b", strategy.targetAudience, maxsplit=1)[0].strip(" .")
    return shorten(first.lower(), 60) if first else ""
