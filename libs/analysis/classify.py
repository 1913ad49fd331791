"""The local classifier: a creator and their reels and posts filed under the taxonomy (libs/categories.py)
from their own words, deterministically and without I/O.

Categories win by keyword votes from the username, name and bio, the captions' words and hashtags (a
hashtag counts its word, and more than a plain word) and the transcripts; ties go to the taxonomy's
order. Languages come from lingua's detector (libs/analysis/language.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import cast

from libs.categories import (
    CATEGORIES,
    CATEGORY_NAMES,
    LANGUAGES,
    MAX_KEYWORDS,
    CategoryName,
    ContentStyle,
)
from libs.events.catalog import ProfileCategorised, ReelCategories

from .hooks import classify as classify_hook
from .hooks import hook_of
from .language import language_of
from .lexicon import LIST_NOUNS, NUMBER_WORDS
from .models import ReelInput
from .text import is_content_word, stem

# Recorded with each categorisation; a change to the rules below that moves results is a new version.
LOCAL_CLASSIFIER = "local-1"

WORD_WEIGHT = 1
# The creator's own description of the account, and the name they chose for it.
PROFILE_WORD_WEIGHT = 2
HANDLE_WEIGHT = 2
HASHTAG_WEIGHT = 3
# A hashtag or username token that only starts or ends with a keyword ("#fitnessmotivation", "fitwithmaya").
PART_WEIGHT = 1
# Below this a reel says too little about itself, and takes its creator's primary category.
MIN_REEL_VOTES = 2
# A runner-up category needs this many votes and this share of the primary's, so one stray word
# ("home" in "home workouts") does not make a fitness creator a home-and-DIY one.
MIN_RUNNER_UP_VOTES = 2
MIN_RUNNER_UP_SHARE = 0.1

_KEYWORD_CATEGORY: dict[str, CategoryName] = {
    word: cast(CategoryName, c.name) for c in CATEGORIES for word in c.keywords
}
_RANK: dict[str, int] = {name: index for index, name in enumerate(CATEGORY_NAMES)}
_PARTS: tuple[str, ...] = tuple(sorted(_KEYWORD_CATEGORY, key=lambda word: (-len(word), word)))

_URL = re.compile(r"https?://\S+|www\.\S+")
_TAG = re.compile(r"([#@])(\w[\w.]*)")
_WORD = re.compile(r"[^\W\d_][\w'-]*")
_HANDLE_SPLIT = re.compile(r"[._0-9]+")
_CUE_BREAK = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")

# Function words of the other taxonomy languages, so a Spanish caption's keywords are not "para" and "como".
_OTHER_STOPWORDS = frozenset(
    """
    las los del por para con una uno como más pero sus este esta esto ese eso porque cuando muy sin
    sobre también hasta hay donde desde todo todos nos les ella ellos algo mis tus qué cómo está estás
    están estoy ser son fue era hacer tiene tengo puedes puede hoy aquí así mucho nada otro otra
    que não uma com mais mas foi ele das tem seu sua quando muito já também pelo pela até isso entre
    depois sem mesmo aos ter quem nas esse eles estão você vocês meu minha essa fazer aqui hoje
    les des est pour qui dans sur pas plus avec ont son ses aux nous vous ils elle elles leur leurs
    cette ces tout tous très fait être avoir comme sont été aussi bien mon ton notre votre mes tes
    moi toi lui même faire jour voici voilà comment ici c'est j'ai
    der die das und ist ich nicht sie ein eine einen einem einer eines mit dem den von auf für sich
    auch als noch wie wir ihr sind bei aus nach wenn nur oder aber vor zur zum bis mehr durch man
    kann hat habe haben wird werden war sein dass mein dein unser diese dieser dieses alle schon
    immer heute hier jetzt was wer
    che non per con del della sono anche più nel alla dei gli dal questo questa mio tuo suo nostro
    loro tutto tutti fare oggi qui molto
    het een van dat niet zijn ook aan met voor maar als bij nog wel geen naar dan wat mijn jouw onze
    deze dit wordt worden heb heeft hebben vandaag
    """.split()
)

_NUMBER = rf"(?:\d+|{'|'.join(sorted(NUMBER_WORDS))})"
# What a numbered list counts: the hook reader's nouns and the things creators rank.
_LIST_NOUNS = (*LIST_NOUNS, "recipes", "outfits", "looks", "places", "spots", "books", "products", "moves")
# Cue words per content style, tried in this order on a reel's caption and the opening of its transcript.
_STYLE_CUES: tuple[tuple[ContentStyle, re.Pattern[str]], ...] = (
    (
        "tutorial",
        re.compile(
            r"\bhow to\b|\bhere'?s how\b|\bstep[- ]by[- ]step\b|\bstep (?:\d+|one|two|three)\b|"
            r"\btutorials?\b|\bhowto\b|\bpaso a paso\b|\bpasso a passo\b|\bschritt für schritt\b|"
            r"\bétape par étape\b|\btutoriel\b"
        ),
    ),
    (
        "list",
        re.compile(
            rf"^{_NUMBER} (?:[\w'-]+ ){{0,3}}?(?:{'|'.join(_LIST_NOUNS)})\b|\btop {_NUMBER}\b", re.MULTILINE
        ),
    ),
    ("story", re.compile(r"\bstory ?time\b|\bi was\b|\bwhen i\b")),
    ("skit", re.compile(r"\bpov\b|\bwhen your\b|\bme when\b")),
    ("review", re.compile(r"\breview(?:s|ed)?\b|\bi tried\b|\bworth it\b")),
    ("vlog", re.compile(r"\bday in (?:my|the) life\b|\bdayinmylife\b|\bvlogs?\b|\bcome with me\b")),
)
_FIRST_PERSON = frozenset("i i'm i've i'd i'll me my mine myself we we're we've our us".split())
# Share of a transcript's words that are first-person for it to be someone talking to the camera.
_TALKING_SHARE = 0.02


@dataclass(frozen=True)
class CreatorText:
    username: str
    full_name: str | None = None
    bio: str | None = None
    account_type: str | None = None


@dataclass(frozen=True)
class ContentText:
    """A reel or a post as the classifier reads it; posts have no transcript."""

    content_id: str
    caption: str | None = None
    transcript: str | None = None


@dataclass(frozen=True)
class Categorisation:
    """What one classifier decided about a creator and their content, in the events' own models."""

    profile: ProfileCategorised
    content: list[ReelCategories]

    @property
    def classifier(self) -> str:
        return self.profile.classifier


@dataclass(frozen=True)
class _Text:
    """One text read once: its words, its hashtags (without #) and what is left for the detector."""

    words: list[str]
    tags: list[str]
    plain: str


_NO_TEXT = _Text([], [], "")


def _read(text: str | None) -> _Text:
    if not text:
        return _NO_TEXT
    lowered = _URL.sub(" ", text.lower().replace("\u2019", "'"))
    tags = [tag.rstrip(".") for mark, tag in _TAG.findall(lowered) if mark == "#"]
    plain = _TAG.sub(" ", lowered)
    words = [word.strip("'-") for word in _WORD.findall(plain)]
    return _Text([word for word in words if word], tags, plain)


# Words repeat across a creator's captions and across creators: each is looked up once.
@lru_cache(maxsize=65_536)
def _keyword(word: str) -> str | None:
    if word in _KEYWORD_CATEGORY:
        return word
    stemmed = stem(word)
    return stemmed if stemmed in _KEYWORD_CATEGORY else None


@lru_cache(maxsize=4096)
def _part(token: str, shortest: int) -> str | None:
    """The longest keyword a compound token starts or ends with."""
    for word in _PARTS:
        if (
            len(word) < len(token)
            and len(word) >= shortest
            and (token.startswith(word) or token.endswith(word))
        ):
            return word
    return None


_stem = lru_cache(maxsize=65_536)(stem)


@lru_cache(maxsize=65_536)
def _topic_word(word: str) -> bool:
    return is_content_word(word) and word not in _OTHER_STOPWORDS


@dataclass
class _Votes:
    categories: Counter[CategoryName] = field(default_factory=Counter)
    # Taxonomy keywords by the weight they voted with; other content words by how often they occur.
    keywords: Counter[str] = field(default_factory=Counter)
    words: Counter[str] = field(default_factory=Counter)

    def vote(self, keyword: str, weight: int, *, said: bool = True) -> None:
        self.categories[_KEYWORD_CATEGORY[keyword]] += weight
        if said:
            self.keywords[keyword] += weight

    def add_words(self, words: Iterable[str], weight: int, *, topics: bool = True) -> None:
        for word in words:
            keyword = _keyword(word)
            if keyword is not None:
                self.vote(keyword, weight)
            elif topics and _topic_word(word):
                self.words[word] += 1

    def add_tags(self, tags: Iterable[str]) -> None:
        for tag in tags:
            keyword = _keyword(tag)
            if keyword is not None:
                self.vote(keyword, HASHTAG_WEIGHT)
                continue
            part = _part(tag, 4)
            if part is not None:
                self.vote(part, PART_WEIGHT)
            elif _topic_word(tag):
                self.words[tag] += 1

    def add_text(self, text: _Text, weight: int = WORD_WEIGHT) -> None:
        self.add_words(text.words, weight)
        self.add_tags(text.tags)

    def add_handle(self, username: str) -> None:
        """The name votes for a category but gives no keyword: keywords are what the creator says."""
        for token in _HANDLE_SPLIT.split(username.lower()):
            keyword = _keyword(token) if token else None
            if keyword is not None:
                self.vote(keyword, HANDLE_WEIGHT, said=False)
            elif token and (part := _part(token, 3)) is not None:
                self.vote(part, PART_WEIGHT, said=False)

    def merge(self, other: _Votes) -> None:
        self.categories.update(other.categories)
        self.keywords.update(other.keywords)
        self.words.update(other.words)

    def ranked(self) -> list[tuple[CategoryName, int]]:
        return sorted(
            ((name, votes) for name, votes in self.categories.items() if votes > 0),
            key=lambda item: (-item[1], _RANK[item[0]]),
        )

    def top_keywords(self) -> list[str]:
        """The taxonomy keywords that voted most, then the most frequent content words; one per stem.
        Ties keep the order the words were first met in (sorted() is stable)."""
        chosen: list[str] = []
        stems: set[str] = set()
        for counts in (self.keywords, self.words):
            for word, _ in sorted(counts.items(), key=lambda item: -item[1]):
                if len(chosen) == MAX_KEYWORDS:
                    return chosen
                folded = _stem(word)
                if folded not in stems:
                    chosen.append(word)
                    stems.add(folded)
        return chosen


def detect_language(text: str | None) -> str | None:
    """The ISO 639-1 code of the text's language among LANGUAGES; None when it is too short to tell.
    Hashtags, mentions and links are left out: creators tag in English whatever they speak."""
    read = _read(text)
    return language_of(read.plain, read.words)


def _majority(bio: str | None, texts: Iterable[str | None]) -> str | None:
    """The language most of the creator's texts are in; the bio counts twice, ties go to LANGUAGES' order."""
    votes: Counter[str] = Counter(language for language in texts if language is not None)
    if bio is not None:
        votes[bio] += 2
    if not votes:
        return None
    return min(votes, key=lambda code: (-votes[code], LANGUAGES.index(code)))


def _style(caption: _Text, transcript: _Text) -> ContentStyle:
    # The caption and the transcript's opening say what a reel is; the transcript's body only how it is said.
    # One sentence a line, so a numbered list is found where a sentence starts.
    opening = _CUE_BREAK.split(transcript.plain.strip(), maxsplit=2)[:2] if transcript.plain else []
    cues = _CUE_BREAK.sub("\n", "\n".join([caption.plain.strip(), *opening, *caption.tags]))
    for style, pattern in _STYLE_CUES:
        if pattern.search(cues):
            return style
    first_person = sum(word in _FIRST_PERSON for word in transcript.words)
    if first_person and first_person >= _TALKING_SHARE * len(transcript.words):
        return "talking_head"
    return "other"


def content_style(caption: str | None, transcript: str | None) -> ContentStyle:
    """The style its cue words name (tutorial, list, story, skit, review, vlog, tried in that order); else
    a transcript in the first person is someone talking to the camera; else other."""
    return _style(_read(caption), _read(transcript))


def hook_type(caption: str | None, transcript: str | None) -> str | None:
    """The analysis engine's hook type of the opening line (libs.analysis.hooks); None without one."""
    reel = ReelInput(content_id="", shortcode="", url="", username="", caption=caption, transcript=transcript)
    hook = hook_of(reel)
    return classify_hook(hook) if hook else None


@dataclass(frozen=True)
class _Item:
    """A reel or post read once, with its own votes and the language its own text is in."""

    content: ContentText
    caption: _Text
    transcript: _Text
    votes: _Votes
    language: str | None


def _item(content: ContentText) -> _Item:
    caption, transcript = _read(content.caption), _read(content.transcript)
    votes = _Votes()
    votes.add_text(caption)
    votes.add_text(transcript)
    if transcript.words:
        language = language_of(f"{caption.plain} . {transcript.plain}", [*caption.words, *transcript.words])
    else:
        language = language_of(caption.plain, caption.words)
    return _Item(content, caption, transcript, votes, language)


def _creator_votes(creator: CreatorText, items: Iterable[_Item]) -> _Votes:
    votes = _Votes()
    votes.add_handle(creator.username)
    votes.add_words(_read(creator.full_name).words, PROFILE_WORD_WEIGHT, topics=False)
    votes.add_text(_read(creator.bio), PROFILE_WORD_WEIGHT)
    for item in items:
        votes.merge(item.votes)
    return votes


def _profile(creator: CreatorText, items: Sequence[_Item]) -> ProfileCategorised:
    votes = _creator_votes(creator, items)
    ranked = votes.ranked()
    primary = ranked[0][0] if ranked else "other"
    floor = max(MIN_RUNNER_UP_VOTES, MIN_RUNNER_UP_SHARE * ranked[0][1]) if ranked else 0
    runners_up = [name for name, count in ranked[1:3] if count >= floor]
    return ProfileCategorised(
        username=creator.username,
        primary_category=primary,
        secondary_category=runners_up[0] if runners_up else None,
        tertiary_category=runners_up[1] if len(runners_up) > 1 else None,
        keywords=votes.top_keywords(),
        language=_majority(detect_language(creator.bio), (item.language for item in items)),
        account_type=creator.account_type,
        classifier=LOCAL_CLASSIFIER,
    )


def _reel(item: _Item, creator_category: CategoryName, creator_language: str | None) -> ReelCategories:
    ranked = item.votes.ranked()
    return ReelCategories(
        content_id=item.content.content_id,
        category=ranked[0][0] if ranked and ranked[0][1] >= MIN_REEL_VOTES else creator_category,
        keywords=item.votes.top_keywords(),
        # Too little text of its own: most likely what its creator speaks.
        language=item.language or creator_language,
        content_style=_style(item.caption, item.transcript),
        hook_type=hook_type(item.content.caption, item.content.transcript),
    )


def classify_profile(
    username: str, full_name: str | None, bio: str | None, account_type: str | None, texts: Iterable[str]
) -> ProfileCategorised:
    """A creator's categories, keywords and language from their name and bio and the texts of their reels
    and posts (one text per reel: its caption, or its caption and transcript)."""
    items = [_item(ContentText(str(index), text)) for index, text in enumerate(texts)]
    return _profile(CreatorText(username, full_name, bio, account_type), items)


def classify_reels(
    content: Sequence[ContentText],
    *,
    creator_category: CategoryName = "other",
    creator_language: str | None = None,
) -> list[ReelCategories]:
    """Each reel's or post's own category (its creator's primary one when it says too little), keywords,
    language, content style and hook type."""
    return [_reel(_item(each), creator_category, creator_language) for each in content]


def categorise(creator: CreatorText, content: Sequence[ContentText]) -> Categorisation:
    """classify_profile and classify_reels in one pass, each text read and its language detected once."""
    items = [_item(each) for each in content]
    profile = _profile(creator, items)
    reels = [_reel(item, profile.primary_category, profile.language) for item in items]
    return Categorisation(profile, reels)
