"""Deterministic Instagram creators: everything follows from (seed, username) and a reference time.

Each piece draws from its own `random.Random` seeded by blake2b of (seed, username, purpose), never
from the global generator or the salted built-in hash(), so two processes agree on every number.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, TypeVar
from urllib.parse import urlparse

from .vocabulary import CALLS_TO_ACTION, CAPTION_LINES, FIRST_NAMES, HOOKS, INTROS, LAST_NAMES, NICHES, Niche

USERNAME = re.compile(r"^[a-z0-9._]{1,30}$")
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
T = TypeVar("T")


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


def rng_for(seed: int, *parts: object) -> random.Random:
    key = ":".join(str(part) for part in (seed, *parts)).encode()
    return random.Random(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big"))


def account_kind(username: str) -> AccountKind:
    if not USERNAME.match(username) or username.startswith("missing_"):
        return "missing"
    return "private" if username.startswith("private_") else "public"


def niche_of(seed: int, username: str) -> Niche:
    """A name such as `fitwithmaya` or `money.kim` picks its niche; any other name gets one by hash."""
    for token in _TOKEN_SPLIT.split(username.removeprefix("private_")):
        for niche in NICHES:
            if token and token.startswith(niche.handles):
                return niche
    return rng_for(seed, username, "niche").choice(NICHES)


@lru_cache(maxsize=8192)
def creator(seed: int, username: str) -> Creator:
    rng = rng_for(seed, username, "creator")
    niche = niche_of(seed, username)
    # Log-normal around 50k followers: most creators are small, a few are huge.
    followers = int(min(5_000_000, max(1_000, rng.lognormvariate(math.log(50_000), 1.4))))
    reel_count = rng.randint(30, 150)
    verified_odds = 0.7 if followers > 1_000_000 else 0.25 if followers > 200_000 else 0.02
    first, last = rng.choice(FIRST_NAMES).title(), rng.choice(LAST_NAMES).title()
    full_name = f"{first} {last}" if rng.random() < 0.6 else f"{first} | {niche.title}"
    biography = (
        f"{niche.title} | Helping you get {rng.choice(niche.results)}. "
        f"New {rng.choice(niche.topics)} reels every week."
    )
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
        spread = rng.uniform(5, 30) if is_outlier else _lognormal(rng, 0.0, 0.45)
        views = max(50, int(who.median_views * spread))
        likes = int(views * engagement * _lognormal(rng, 0.0, 0.3))
        comments = int(likes * _lognormal(rng, _LOG_COMMENT_RATIO, 0.5))
        view_roll = rng.random()
        hook = _hook(rng, who.niche)
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
                caption=_caption(rng, who.niche, hook),
                has_speech=rng.random() >= 0.15,
                is_outlier=is_outlier,
            )
        )
    return tuple(reels)


def transcript_of(seed: int, username: str, reel: ReelRecord) -> str | None:
    if not reel.has_speech:
        return None
    niche = creator(seed, username).niche
    rng = rng_for(seed, username, "transcript", reel.index)
    tips = rng.sample(niche.tips, rng.randint(2, 5))
    ending = rng.choice(CALLS_TO_ACTION).format(niche=niche.name, word=niche.comment_word)
    return " ".join([reel.hook, rng.choice(INTROS), *tips, ending])


@lru_cache(maxsize=1024)
def similar_to(seed: int, username: str) -> tuple[Creator, ...]:
    """10..80 accounts, mostly from the same niche, always with a private one and a small one."""
    rng = rng_for(seed, username, "similar")
    own = niche_of(seed, username)
    others = [niche for niche in NICHES if niche is not own]
    count = rng.randint(10, 80)
    names: list[str] = []
    for _ in range(count * 3):
        if len(names) >= count:
            break
        name = _handle(rng, own if rng.random() < 0.8 else rng.choice(others))
        if rng.random() < 0.06:
            name = f"private_{name}"[:30]
        if USERNAME.match(name) and name != username and name not in names:
            names.append(name)
    if not any(name.startswith("private_") for name in names):
        names[-1] = f"private_{names[-1]}"[:30]
    if not any(creator(seed, name).followers < 5_000 for name in names):
        for _ in range(300):
            small = _handle(rng, own)
            if small not in names and small != username and creator(seed, small).followers < 5_000:
                names[0] = small
                break
    return tuple(creator(seed, name) for name in names)


def similar_shape(seed: int, username: str) -> Literal["list", "numeric_keys", "data_key"]:
    """The real endpoint is inconsistent about its envelope; each account keeps one of the three."""
    roll = rng_for(seed, username, "similar-shape").random()
    return "list" if roll < 0.6 else "numeric_keys" if roll < 0.8 else "data_key"


def shortcode(username: str, index: int) -> str:
    """Reversible, so a reel URL alone leads back to its creator, as it does on Instagram."""
    return base64.urlsafe_b64encode(f"{username}:{index}".encode()).decode().rstrip("=")


def parse_shortcode(code: str) -> tuple[str, int] | None:
    try:
        decoded = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, _, index = decoded.rpartition(":")
    if not USERNAME.match(username) or not index.isdigit():
        return None
    return username, int(index)


def parse_username(value: str) -> str | None:
    text = value.strip()
    if "instagram.com" in text:
        parts = _path_parts(text)
        text = parts[0] if parts else ""
    text = text.lstrip("@").lower()
    return text if USERNAME.match(text) else None


def parse_reel_code(value: str) -> str | None:
    text = value.strip()
    if "/" in text:
        parts = _path_parts(text)
        text = parts[1] if len(parts) >= 2 and parts[0] in ("reel", "reels", "p", "tv") else ""
    return text or None


def _path_parts(url: str) -> list[str]:
    path = urlparse(url if "//" in url else f"https://{url}").path
    return [part for part in path.split("/") if part]


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


def _hook(rng: random.Random, niche: Niche) -> str:
    return _pick(rng, HOOKS).format(
        mistake=_pick(rng, niche.mistakes),
        result=_pick(rng, niche.results),
        topic=_pick(rng, niche.topics),
        n=_pick(rng, (3, 5, 7, 10)),
        days=_pick(rng, (7, 14, 30)),
    )


def _caption(rng: random.Random, niche: Niche, hook: str) -> str:
    if rng.random() < 0.05:
        return ""
    line = _pick(rng, CAPTION_LINES).format(n=_pick(rng, (2, 3, 4, 5, 6)))
    tags, start = niche.hashtags, int(rng.random() * len(niche.hashtags))
    chosen = [tags[(start + step) % len(tags)] for step in range(_pick(rng, (3, 4, 5)))]
    return f"{hook} {line}\n\n{' '.join(chosen)}"


# The stdlib's choice() and lognormvariate() are several times slower; 150 reels add up.
def _pick(rng: random.Random, options: tuple[T, ...]) -> T:
    return options[int(rng.random() * len(options))]


def _lognormal(rng: random.Random, mu: float, sigma: float) -> float:
    return math.exp(mu + sigma * rng.gauss(0.0, 1.0))


def _handle(rng: random.Random, niche: Niche) -> str:
    name = rng.choice(_HANDLE_PATTERNS).format(
        kw=rng.choice(niche.handles),
        first=rng.choice(FIRST_NAMES),
        last=rng.choice(LAST_NAMES),
        num=rng.randint(1, 99),
    )
    return name[:30]


def similar_fields(seed: int, username: str, count: int) -> list[set[str]]:
    """Which optional fields each similar account shows; the real endpoint is not consistent."""
    rng = rng_for(seed, username, "similar-fields")
    odds = (("follower_count", 0.6), ("is_private", 0.8), ("is_verified", 0.8))
    return [{field for field, chance in odds if rng.random() < chance} for _ in range(count)]
