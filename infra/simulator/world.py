"""Deterministic Instagram creators: everything follows from (seed, username) and a reference time.

Each piece draws from its own generator (draws.rng_for), so two processes agree on every number. The
language a creator speaks follows from a marker in its name (languages.py); posts are in posts.py, and
the reels a creator posts as the clock runs past a growth anchor are in growth.py.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from .codes import USERNAME, shortcode
from .draws import lognormal, pick, rng_for
from .languages import VOICES, marked_voice, marker_of, voice_of
from .vocabulary import FIRST_NAMES, LAST_NAMES, NICHES, Niche, Voice

_TOKEN_SPLIT = re.compile(r"[._0-9]+")
_DAY_S = 86_400
_HISTORY_DAYS = 180
_LOG_COMMENT_RATIO = math.log(0.025)
_HANDLE_PATTERNS = (
    "{kw}with{first}",
    "{first}.{kw}",
    "{kw}_by_{first}",
    "{first}{last}.{kw}",
    "{kw}.{first}{num}",
    "{first}_{kw}{num}",
    "{kw}{last}",
)
AccountKind = Literal["missing", "private", "public"]
_ENGLISH_NICHES = {niche.name: niche for niche in NICHES}


@dataclass(frozen=True)
class Creator:
    username: str
    pk: int
    niche: Niche
    full_name: str
    biography: str
    followers: int
    following: int
    posts_count: int
    reel_count: int
    is_verified: bool
    is_private: bool
    is_business: bool
    median_views: int
    # ISO 639-1 code of the words in its bio, captions and transcripts; `niche` is in that language.
    language: str = "en"

    @property
    def voice(self) -> Voice:
        return VOICES[self.language]


@dataclass(frozen=True)
class ReelRecord:
    index: int
    pk: int
    code: str
    taken_at: int
    # None: the provider reports no view count for this reel at all.
    views: int | None
    # True: only the fallback view fields (ig_play_count, video_view_count) are present.
    play_count_missing: bool
    likes: int
    comments: int
    hook: str
    caption: str
    has_speech: bool
    is_outlier: bool


def account_kind(username: str) -> AccountKind:
    if not USERNAME.match(username) or username.startswith("missing_"):
        return "missing"
    return "private" if username.startswith("private_") else "public"


def niche_of(seed: int, username: str) -> Niche:
    """A name such as `fitwithmaya` or `money.kim` picks its niche; any other name gets one by hash.

    Always the English niche; a name with a language marker also knows that language's words
    (`cocina.ana.es` is cooking) and, without a niche token, draws among the translated niches.
    """
    spoken = marked_voice(username)
    searched = NICHES if spoken is None else (*spoken.niches, *NICHES)
    for token in _TOKEN_SPLIT.split(username.removeprefix("private_")):
        for niche in searched:
            if token and token.startswith(niche.handles):
                return _ENGLISH_NICHES[niche.name]
    drawn = NICHES if spoken is None else tuple(_ENGLISH_NICHES[niche.name] for niche in spoken.niches)
    return rng_for(seed, username, "niche").choice(drawn)


@lru_cache(maxsize=8192)
def creator(seed: int, username: str) -> Creator:
    rng = rng_for(seed, username, "creator")
    english = niche_of(seed, username)
    voice = voice_of(username, english.name)
    niche = voice.niche(english.name) or english
    # Log-normal around 50k followers: most creators are small, a few are huge.
    followers = int(min(5_000_000, max(1_000, rng.lognormvariate(math.log(50_000), 1.4))))
    reel_count = rng.randint(30, 150)
    verified_odds = 0.7 if followers > 1_000_000 else 0.25 if followers > 200_000 else 0.02
    first, last = rng.choice(FIRST_NAMES).title(), rng.choice(LAST_NAMES).title()
    full_name = f"{first} {last}" if rng.random() < 0.6 else f"{first} | {niche.title}"
    result = rng.choice(niche.results)
    biography = voice.biography.format(title=niche.title, result=result, topic=rng.choice(niche.topics))
    return Creator(
        username=username,
        pk=rng.randrange(10**9, 10**11),
        niche=niche,
        full_name=full_name,
        biography=biography,
        followers=followers,
        following=rng.randint(40, 2_500),
        posts_count=reel_count + rng.randint(10, 600),
        reel_count=reel_count,
        is_verified=rng.random() < verified_odds,
        is_private=account_kind(username) == "private",
        is_business=rng.random() < 0.55,
        median_views=max(150, int(followers * rng.lognormvariate(math.log(0.3), 0.5))),
        language=voice.language,
    )


@lru_cache(maxsize=1024)
def reels_of(seed: int, username: str, now_ts: int) -> tuple[ReelRecord, ...]:
    """Newest first, spread over about 180 days before `now_ts`; 5-10% of them are true outliers."""
    who = creator(seed, username)
    rng = rng_for(seed, username, "reels")
    count = who.reel_count
    outliers = set(rng.sample(range(count), max(1, round(count * rng.uniform(0.05, 0.10)))))
    engagement = rng.lognormvariate(math.log(0.04), 0.35)
    ages_s = _posting_ages(rng, count)
    reels = []
    for index in range(count):
        is_outlier = index in outliers
        spread = rng.uniform(5, 30) if is_outlier else lognormal(rng, 0.0, 0.45)
        views = max(50, int(who.median_views * spread))
        likes = int(views * engagement * lognormal(rng, 0.0, 0.3))
        comments = int(likes * lognormal(rng, _LOG_COMMENT_RATIO, 0.5))
        view_roll = rng.random()
        hook = draw_hook(rng, who.niche, who.voice)
        reels.append(
            ReelRecord(
                index=index,
                pk=3 * 10**18 + rng.getrandbits(59),
                code=shortcode(username, index),
                taken_at=now_ts - ages_s[index],
                views=None if view_roll < 0.02 else views,
                play_count_missing=view_roll < 0.06,
                likes=likes,
                comments=comments,
                hook=hook,
                caption=draw_caption(rng, who.niche, hook, who.voice),
                has_speech=rng.random() >= 0.15,
                is_outlier=is_outlier,
            )
        )
    return tuple(reels)


def transcript_of(seed: int, username: str, reel: ReelRecord) -> str | None:
    if not reel.has_speech:
        return None
    who = creator(seed, username)
    niche, voice = who.niche, who.voice
    rng = rng_for(seed, username, "transcript", reel.index)
    tips = rng.sample(niche.tips, rng.randint(2, 5))
    ending = rng.choice(voice.calls_to_action).format(niche=niche.name, word=niche.comment_word)
    return " ".join([reel.hook, rng.choice(voice.intros), *tips, ending])


@lru_cache(maxsize=1024)
def similar_to(seed: int, username: str) -> tuple[Creator, ...]:
    """10..80 accounts, mostly from the same niche, always with a private one and a small one.

    A creator speaking another language has same-niche neighbours with its own language marker."""
    rng = rng_for(seed, username, "similar")
    own = niche_of(seed, username)
    marker = marker_of(username) if creator(seed, username).language != "en" else ""
    others = [niche for niche in NICHES if niche is not own]
    count = rng.randint(10, 80)
    names: list[str] = []
    for _ in range(count * 3):
        if len(names) >= count:
            break
        niche = own if rng.random() < 0.8 else rng.choice(others)
        name = _handle(rng, niche)
        if rng.random() < 0.06:
            name = f"private_{name}"[:30]
        name = _marked(name, marker if niche is own else "")
        if USERNAME.match(name) and name != username and name not in names:
            names.append(name)
    if not any(name.startswith("private_") for name in names):
        last = names[-1]
        names[-1] = _marked(
            f"private_{last.removesuffix(marker)}"[:30], marker if last.endswith(marker) else ""
        )
    if not any(creator(seed, name).followers < 5_000 for name in names):
        for _ in range(300):
            small = _marked(_handle(rng, own), marker)
            if small not in names and small != username and creator(seed, small).followers < 5_000:
                names[0] = small
                break
    return tuple(creator(seed, name) for name in names)


def similar_shape(seed: int, username: str) -> Literal["list", "numeric_keys", "data_key"]:
    """The real endpoint is inconsistent about its envelope; each account keeps one of the three."""
    roll = rng_for(seed, username, "similar-shape").random()
    return "list" if roll < 0.6 else "numeric_keys" if roll < 0.8 else "data_key"


def _posting_ages(rng: random.Random, count: int) -> list[int]:
    """Irregular gaps between posts, scaled so the oldest reel is 150-180 days old."""
    first = rng.uniform(0, 1.5 * _DAY_S)
    gaps = [rng.expovariate(1.0) for _ in range(count - 1)]
    scale = (rng.uniform(150, _HISTORY_DAYS) * _DAY_S - first) / sum(gaps)
    ages, age = [int(first)], first
    for gap in gaps:
        age += gap * scale
        ages.append(int(age))
    return ages


def draw_hook(rng: random.Random, niche: Niche, voice: Voice) -> str:
    return pick(rng, voice.hooks).format(
        mistake=pick(rng, niche.mistakes),
        result=pick(rng, niche.results),
        topic=pick(rng, niche.topics),
        n=pick(rng, (3, 5, 7, 10)),
        days=pick(rng, (7, 14, 30)),
    )


def draw_caption(rng: random.Random, niche: Niche, hook: str, voice: Voice) -> str:
    if rng.random() < 0.05:
        return ""
    line = pick(rng, voice.caption_lines).format(n=pick(rng, (2, 3, 4, 5, 6)))
    tags, start = niche.hashtags, int(rng.random() * len(niche.hashtags))
    chosen = [tags[(start + step) % len(tags)] for step in range(pick(rng, (3, 4, 5)))]
    return f"{hook} {line}\n\n{' '.join(chosen)}"


def _handle(rng: random.Random, niche: Niche) -> str:
    name = rng.choice(_HANDLE_PATTERNS).format(
        kw=rng.choice(niche.handles),
        first=rng.choice(FIRST_NAMES),
        last=rng.choice(LAST_NAMES),
        num=rng.randint(1, 99),
    )
    return name[:30]


def _marked(name: str, marker: str) -> str:
    """The name with the language marker at its end, cut to fit Instagram's 30 characters."""
    return f"{name[: 30 - len(marker)]}{marker}" if marker else name


def similar_fields(seed: int, username: str, count: int) -> list[set[str]]:
    """Which optional fields each similar account shows; the real endpoint is not consistent."""
    rng = rng_for(seed, username, "similar-fields")
    odds = (("follower_count", 0.6), ("is_private", 0.8), ("is_verified", 0.8))
    return [{field for field, chance in odds if rng.random() < chance} for _ in range(count)]
