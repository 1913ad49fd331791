"""Tokens, sentences and topic phrases from captions and transcripts."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from .lexicon import FILLER, NUMBER_WORDS, SHORT_TOPICS, STOPWORDS

# A topic phrase is identified by the stems of its words, so "home workout" and "home workouts" agree.
Key = tuple[str, ...]

_WORD = re.compile("[a-z0-9][a-z0-9'\u2019+-]*")
_HASHTAG = re.compile(r"[#@][\w.]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_SPACES = re.compile(r"\s+")


def words(text: str) -> list[str]:
    """Lower-case words, apostrophes kept (so "you're" stays one stopword)."""
    return [word.replace("\u2019", "'").strip("'-+") for word in _WORD.findall(text.lower())]


def is_content_word(word: str) -> bool:
    # Over 30 letters is a URL or keyboard mash, never a topic.
    if (len(word) < 3 and word not in SHORT_TOPICS) or len(word) > 30 or word[0].isdigit():
        return False
    if word in NUMBER_WORDS:
        return False
    return word not in STOPWORDS and word not in FILLER


def content_words(text: str) -> list[str]:
    return [word for word in words(text) if is_content_word(word)]


def stem(word: str) -> str:
    """Folds plurals only; enough to match "entrepreneurs" with "entrepreneur"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=8192)
def key_of(phrase: str) -> Key:
    # Cached: the same captions and transcripts are keyed by several steps of one analysis.
    return tuple(stem(word) for word in words(phrase))


def strip_hashtags(text: str) -> str:
    return _SPACES.sub(" ", _HASHTAG.sub(" ", text)).strip()


def sentences(text: str) -> list[str]:
    """Sentences without hashtags or mentions; a caption's line break ends a sentence too."""
    lines = (strip_hashtags(line) for line in text.splitlines())
    return [part.strip() for part in _SENTENCE_END.split("\n".join(lines)) if part.strip()]


def shorten(text: str, limit: int) -> str:
    """Cuts at a word boundary so stored text never ends mid-word."""
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def hashtags(text: str) -> list[str]:
    return list(dict.fromkeys(tag[1:].lower() for tag in _HASHTAG.findall(text) if tag.startswith("#")))


def phrases(text: str) -> list[str]:
    """Runs of one to three adjacent content words, each once per text; hashtags left out."""
    found: dict[str, None] = {}
    for sentence in sentences(text):
        run: list[str] = []
        for word in [*words(sentence), ""]:
            if word and is_content_word(word):
                run.append(word)
                continue
            for index in range(len(run)):
                for size in (1, 2, 3):
                    if index + size <= len(run):
                        found.setdefault(" ".join(run[index : index + size]))
            run = []
    return list(found)


@dataclass
class Terms:
    """How many reels mention each phrase: anywhere (hashtags too), in words, in the headline.

    A reel's headline (hook and caption) says what it is about; the transcript's tips only support that.
    """

    reels: int = 0
    docs: list[frozenset[Key]] = field(default_factory=list)
    anywhere: Counter[Key] = field(default_factory=Counter)
    spoken: Counter[Key] = field(default_factory=Counter)
    in_headlines: Counter[Key] = field(default_factory=Counter)
    surfaces: dict[Key, Counter[str]] = field(default_factory=dict)

    def add(self, headline: str, body: str) -> None:
        self.reels += 1
        top = self._keys(phrases(headline))
        spoken = {**top, **self._keys(phrases(body))}
        every = {**spoken, **self._keys(hashtags(f"{headline}\n{body}"))}
        for key in every:
            self.anywhere[key] += 1
            self.spoken[key] += key in spoken
            self.in_headlines[key] += key in top
        self.docs.append(frozenset(every))

    def _keys(self, found: list[str]) -> dict[Key, None]:
        keys: dict[Key, None] = {}
        for phrase in found:
            key = key_of(phrase)
            self.surfaces.setdefault(key, Counter())[phrase] += 1
            keys.setdefault(key)
        return keys

    def share(self, key: Key) -> float:
        """Share of reels that mention the phrase in words or as its hashtag ("home workouts", #homeworkout)."""
        if not self.reels:
            return 0.0
        tag = ("".join(key),)
        return sum(1 for doc in self.docs if key in doc or tag in doc) / self.reels

    def words_share(self, key: Key) -> float:
        """Share of reels that use every word of the phrase, together or apart ("sourdough", "#baking")."""
        if not self.reels:
            return 0.0
        wanted = set(key)
        return sum(1 for doc in self.docs if wanted <= {word for found in doc for word in found}) / self.reels

    def said_share(self, key: Key) -> float:
        """Like share(), but a phrase only tagged counts half: creators tag broadly."""
        if not self.reels:
            return 0.0
        return (self.spoken[key] + (self.anywhere[key] - self.spoken[key]) / 2) / self.reels

    def headline_share(self, key: Key) -> float:
        return self.in_headlines[key] / self.reels if self.reels else 0.0

    def surface(self, key: Key) -> str:
        # Most used form; ties go to the alphabetically first, so the choice never depends on order.
        counts = self.surfaces[key]
        return min(counts, key=lambda form: (-counts[form], form))

    def keys(self) -> list[Key]:
        return sorted(self.anywhere)

    def topic_shaped(self, key: Key) -> bool:
        """Long enough to mean something, and not just a piece of a longer phrase ("fryer" of "air fryer")."""
        if len(key) == 1 and ((len(key[0]) < 4 and key[0] not in SHORT_TOPICS) or self.anywhere[key] < 2):
            return False
        # Judged where the phrase is most telling: in headlines when it appears there at all.
        counts = self.in_headlines if self.in_headlines[key] else self.anywhere
        return not any(counts[longer] >= 0.8 * counts[key] for longer in self._longer.get(key, ()))

    @cached_property
    def _longer(self) -> dict[Key, list[Key]]:
        # Read only after every reel was added.
        found: dict[Key, list[Key]] = {}
        for key in self.anywhere:
            if len(key) > 1:
                found.setdefault(key[:-1], []).append(key)
                found.setdefault(key[1:], []).append(key)
        return found


def count_terms(texts: Iterable[tuple[str, str]]) -> Terms:
    terms = Terms()
    for headline, body in texts:
        terms.add(headline, body)
    return terms


def overlaps(key: Key, chosen: Sequence[Key]) -> bool:
    """Shares a word with a chosen phrase, or is its hashtag form ("fatloss" and "fat loss")."""
    return any(set(key) & set(other) or "".join(key) == "".join(other) for other in chosen)


def strategy_phrases(text: str) -> list[str]:
    """ "Business Tips, Productivity Hacks" -> ["business", "productivity hacks"]: the topic words of each part."""
    found: dict[str, None] = {}
    for part in re.split(r"[,;/&|\n]+|\band\b|\bor\b", text.lower()):
        kept = content_words(part)[:3]
        if kept:
            found.setdefault(" ".join(kept))
    return list(found)


def content_stems(text: str) -> set[str]:
    """The stems of the words that carry meaning: what two texts must share to be about the same thing."""
    return {stem(word) for word in content_words(text)}
