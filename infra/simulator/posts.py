"""A creator's grid: its image and carousel posts, and the reels it shared to the grid, newest first.

Posts follow from (seed, username) like reels: as many as the profile's media_count leaves after the
reels, dated back over months to years, likes log-normal around the creator's typical with 5-10%
true outliers, a few with hidden likes, captions in the creator's language with the niche's hashtags.
A grid can hold 600 posts and clients read the first page or two, so posts are drawn in blocks of 50,
each from its own generator, and a page draws only the blocks it reaches.

With a growth anchor (growth.py) the posts keep the dates they have at the anchor and no new posts
appear; the reels on the grid are the anchor's shared reels with their views grown, and the new reels
the creator shared since.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, islice

from .codes import post_shortcode
from .draws import lognormal, pick, rng_for
from .growth import reels_at
from .world import ReelRecord, creator, draw_hook, reels_of

_DAY_S = 86_400
_BLOCK = 50
# Instagram's media_type values; a video on the grid is a reel and keeps its reel shape.
IMAGE, CAROUSEL = 1, 8


@dataclass(frozen=True)
class PostRecord:
    index: int
    pk: int
    code: str
    taken_at: int
    media_type: int
    carousel_count: int
    likes: int
    # The creator hid the like count: the provider omits it.
    likes_hidden: bool
    comments: int
    is_outlier: bool


@dataclass(frozen=True)
class _Habits:
    """How a creator posts, drawn once: every block of posts follows it."""

    count: int
    typical_likes: float
    outlier_rate: float
    carousel_share: float
    mean_gap_s: float
    newest_age_s: float


GridItem = PostRecord | ReelRecord


def posts_of(seed: int, username: str, now_ts: int) -> tuple[PostRecord, ...]:
    return tuple(_posts(seed, username, now_ts))


def grid_of(seed: int, username: str, now_ts: int) -> tuple[GridItem, ...]:
    return tuple(_grid(seed, username, now_ts))


def grid_page(
    seed: int, username: str, now_ts: int, offset: int, end: int, growth_from_ts: int | None = None
) -> tuple[tuple[GridItem, ...], bool]:
    """The grid's items [offset, end) and whether more follow, drawing only the blocks it reaches."""
    grid = (
        _grid(seed, username, now_ts)
        if growth_from_ts is None
        else _grown_grid(seed, username, growth_from_ts, now_ts)
    )
    items = tuple(islice(grid, offset, end + 1))
    return items[: end - offset], len(items) > end - offset


def post_caption(seed: int, username: str, post: PostRecord) -> str:
    """Drawn only for the posts a page shows."""
    rng = rng_for(seed, username, "post-caption", post.index)
    if rng.random() < 0.05:
        return ""
    who = creator(seed, username)
    niche, voice, slides = who.niche, who.voice, post.carousel_count
    headline = draw_hook(rng, niche, voice)
    line = pick(rng, voice.carousel_lines if slides > 1 else voice.image_lines).format(n=slides)
    tags, start = niche.hashtags, int(rng.random() * len(niche.hashtags))
    chosen = [tags[(start + step) % len(tags)] for step in range(pick(rng, (3, 4, 5)))]
    return f"{headline}\n\n{pick(rng, niche.tips)} {line}\n\n{' '.join(chosen)}"


def _grid(seed: int, username: str, now_ts: int) -> Iterator[GridItem]:
    posts, shared = _posts(seed, username, now_ts), _shared_reels(seed, username, now_ts)
    return heapq.merge(posts, shared, key=lambda item: -item.taken_at)


def _grown_grid(seed: int, username: str, anchor_ts: int, now_ts: int) -> Iterator[GridItem]:
    posts = (post for post in _posts(seed, username, anchor_ts) if post.taken_at <= now_ts)
    shared = _grown_shared_reels(seed, username, anchor_ts, now_ts)
    return heapq.merge(posts, shared, key=lambda item: -item.taken_at)


def _posts(seed: int, username: str, now_ts: int) -> Iterator[PostRecord]:
    blocks = -(-_habits(seed, username).count // _BLOCK)
    return chain.from_iterable(_block(seed, username, now_ts, block) for block in range(blocks))


@lru_cache(maxsize=1024)
def _shared_reels(seed: int, username: str, now_ts: int) -> tuple[ReelRecord, ...]:
    """The 10-40% of the creator's reels it shared to the grid."""
    rng = rng_for(seed, username, "grid")
    share = rng.uniform(0.10, 0.40)
    return tuple(reel for reel in reels_of(seed, username, now_ts) if rng.random() < share)


@lru_cache(maxsize=1024)
def _grown_shared_reels(seed: int, username: str, anchor_ts: int, now_ts: int) -> tuple[ReelRecord, ...]:
    """The anchor's shared reels stay shared; each reel posted after it is shared at the creator's rate."""
    anchor_shared = {reel.index for reel in _shared_reels(seed, username, anchor_ts)}
    anchor_count = len(reels_of(seed, username, anchor_ts))
    # The same first draw as _shared_reels makes, so the rate is the creator's.
    share = rng_for(seed, username, "grid").uniform(0.10, 0.40)
    return tuple(
        reel
        for reel in reels_at(seed, username, now_ts, anchor_ts)
        if reel.index in anchor_shared
        or (
            reel.index >= anchor_count
            and rng_for(seed, username, "grid", anchor_ts, reel.index).random() < share
        )
    )


@lru_cache(maxsize=8192)
def _habits(seed: int, username: str) -> _Habits:
    who = creator(seed, username)
    rng = rng_for(seed, username, "posts")
    return _Habits(
        count=max(0, who.posts_count - who.reel_count),
        typical_likes=max(20.0, who.followers * lognormal(rng, math.log(0.03), 0.5)),
        outlier_rate=rng.uniform(0.05, 0.10),
        carousel_share=rng.uniform(0.25, 0.65),
        mean_gap_s=rng.uniform(0.7, 3.0) * _DAY_S,
        newest_age_s=rng.uniform(0, 3 * _DAY_S),
    )


@lru_cache(maxsize=4096)
def _block(seed: int, username: str, now_ts: int, block: int) -> tuple[PostRecord, ...]:
    """Posts block*50 .. block*50+49; each block spans exactly 50 mean gaps, so blocks never overlap."""
    habits = _habits(seed, username)
    first = block * _BLOCK
    size = min(_BLOCK, habits.count - first)
    rng = rng_for(seed, username, "posts", block)
    gaps = [rng.expovariate(1.0) for _ in range(size)]
    scale = size * habits.mean_gap_s / (sum(gaps) or 1.0)
    age = habits.newest_age_s + first * habits.mean_gap_s
    posts = []
    for offset, gap in enumerate(gaps):
        index = first + offset
        is_outlier = rng.random() < habits.outlier_rate
        spread = rng.uniform(4, 15) if is_outlier else lognormal(rng, 0.0, 0.45)
        likes = max(1, int(habits.typical_likes * spread))
        slides = 2 + int(rng.random() * 9) if rng.random() < habits.carousel_share else 1
        posts.append(
            PostRecord(
                index=index,
                pk=3 * 10**18 + rng.getrandbits(59),
                code=post_shortcode(username, index),
                taken_at=now_ts - int(age),
                media_type=CAROUSEL if slides > 1 else IMAGE,
                carousel_count=slides,
                likes=likes,
                likes_hidden=rng.random() < 0.02,
                comments=int(likes * lognormal(rng, math.log(0.02), 0.6)),
                is_outlier=is_outlier,
            )
        )
        age += gap * scale
    return tuple(posts)
