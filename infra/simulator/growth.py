"""A creator's reels as its clock runs on past the world's anchor (`growth_from`).

Without an anchor the world is dated back from `now` (world.reels_of), so a later `now` only shifts
the same reels. With one, the timeline is fixed at the anchor: the reels of world.reels_of(anchor) keep
their ids, captions and dates, the creator goes on posting after it at its usual cadence, and `now` is
the moment the world is looked at. A reel's views follow view_share(age): a fifth of its lifetime views
at once, about half after a day, 80% after three days, all of them after two weeks. The reels of the
anchor's world were drawn at full size, so they gain only a tail (up to a quarter more, for one posted
just before the anchor); one older than a couple of weeks barely moves. About 5-10% of the new reels
(the rate is the creator's, drawn from the seed) end up 4-10x the creator's typical views, so their
outlier score crosses 3 in their first days.

Every draw comes from (seed, username, anchor), never from how `now` got where it is, so any two
processes agree on the world at any (seed, username, anchor, now).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from .codes import shortcode
from .draws import lognormal, rng_for
from .world import ReelRecord, creator, draw_caption, draw_hook, reels_of

_DAY_S = 86_400
# A reel's first viewers arrive with it; the rest come over its first week or so.
_FIRST_SHARE = 0.2
_RISE_S = 2 * _DAY_S
# The anchor's reels were drawn at full size (the world without growth shows a day-old reel with a
# typical reel's views), so they gain only a tail: at most a quarter more, for one posted at the anchor.
# Growing them like new reels would multiply a young one by up to 5 and make every creator's newest
# reel an outlier.
_ANCHOR_TAIL = 0.25
_LOG_COMMENT_RATIO = math.log(0.025)


def view_share(age_s: float) -> float:
    """The share of its lifetime views a reel has at that age: 0.2 new, 0.51 at a day, 0.82 at three."""
    return 1.0 - (1.0 - _FIRST_SHARE) * math.exp(-max(0.0, age_s) / _RISE_S)


def reels_at(
    seed: int, username: str, now_ts: int, growth_from_ts: int | None = None
) -> tuple[ReelRecord, ...]:
    """The creator's reels as the reels endpoint answers them at `now_ts`, newest first.

    Without `growth_from_ts`, exactly world.reels_of(seed, username, now_ts)."""
    # At the anchor itself the world is the default one by definition, not by rounding luck.
    if growth_from_ts is None or now_ts == growth_from_ts:
        return reels_of(seed, username, now_ts)
    return _grown(seed, username, growth_from_ts, now_ts)


def reel_at(
    seed: int, username: str, now_ts: int, growth_from_ts: int | None, index: int
) -> ReelRecord | None:
    """The reel a shortcode's index names, if the creator has posted it by `now_ts`."""
    reels = reels_at(seed, username, now_ts, growth_from_ts)
    if growth_from_ts is None:
        return reels[index] if index < len(reels) else None
    return next((reel for reel in reels if reel.index == index), None)


def reel_views_at(
    seed: int, username: str, code: str, now_ts: int, growth_from_ts: int | None = None
) -> int | None:
    """The reel's view count at `now_ts`; None when it is not posted yet or reports no views."""
    return next((r.views for r in reels_at(seed, username, now_ts, growth_from_ts) if r.code == code), None)


def outlier_scores(reels: Iterable[ReelRecord], limit: int | None = 100) -> dict[str, float]:
    """Views over the median of the non-zero views of the newest `limit` reels, by shortcode, as the
    product scores a fetch of that many reels (100 is what profile ingestion fetches)."""
    recent = list(reels)[:limit]
    counted = [reel.views for reel in recent if reel.views]
    median = statistics.median(counted) if counted else 0
    return {reel.code: reel.views / median if reel.views and median else 0.0 for reel in recent}


def find_outlier_crossing(
    seed: int,
    usernames: Iterable[str],
    growth_from_ts: int,
    before_ts: int,
    after_ts: int,
    threshold: float = 3.0,
    limit: int | None = 100,
) -> tuple[str, str] | None:
    """The first (username, shortcode) of a reel posted after the anchor that scores below `threshold` at
    `before_ts` and at or above it at `after_ts`, both times in a fetch of `limit` reels; None if none.

    Only reels posted after the anchor count: an old reel near the line can also tip over when young
    reels move the median, but that crossing is a hair's breadth, not the growth a test wants."""
    for username in usernames:
        before = outlier_scores(reels_at(seed, username, before_ts, growth_from_ts), limit)
        grown = reels_at(seed, username, after_ts, growth_from_ts)
        after = outlier_scores(grown, limit)
        for reel in grown[:limit]:
            crossed = after[reel.code] >= threshold and before.get(reel.code, threshold) < threshold
            if crossed and reel.taken_at > growth_from_ts:
                return username, reel.code
    return None


@dataclass(frozen=True)
class _Habits:
    """How the creator keeps posting after the anchor, read off the reels it posted before it."""

    count: int
    mean_gap_s: float
    outlier_rate: float
    engagement: float


@lru_cache(maxsize=4096)
def _habits(seed: int, username: str, anchor_ts: int) -> _Habits:
    base = reels_of(seed, username, anchor_ts)
    rates = [reel.likes / reel.views for reel in base if reel.views]
    return _Habits(
        count=len(base),
        mean_gap_s=max(3_600.0, (base[0].taken_at - base[-1].taken_at) / max(1, len(base) - 1)),
        outlier_rate=rng_for(seed, username, "growth").uniform(0.05, 0.10),
        engagement=statistics.median(rates) if rates else 0.04,
    )


@lru_cache(maxsize=1024)
def _grown(seed: int, username: str, anchor_ts: int, now_ts: int) -> tuple[ReelRecord, ...]:
    base = reels_of(seed, username, anchor_ts)
    posted = _new_times(seed, username, anchor_ts, now_ts)
    new = [_aged(_lifetime(seed, username, anchor_ts, n, at), now_ts) for n, at in posted]
    old = [_grown_from_anchor(reel, anchor_ts, now_ts) for reel in base if reel.taken_at <= now_ts]
    return (*reversed(new), *old)


def _new_times(seed: int, username: str, anchor_ts: int, now_ts: int) -> list[tuple[int, int]]:
    """(n, posting time) of the reels posted in (anchor, now]; one draw a reel from one generator, so
    a later `now` only appends to the list and never redraws it."""
    habits = _habits(seed, username, anchor_ts)
    rng = rng_for(seed, username, "growth-times", anchor_ts)
    times: list[tuple[int, int]] = []
    at = float(anchor_ts)
    while True:
        at += max(1.0, rng.expovariate(1.0) * habits.mean_gap_s)
        if at > now_ts:
            return times
        times.append((len(times), int(at)))


@lru_cache(maxsize=16_384)
def _lifetime(seed: int, username: str, anchor_ts: int, n: int, taken_at: int) -> ReelRecord:
    """The n-th reel after the anchor with its lifetime counts; its index follows the anchor's reels,
    so its shortcode is new."""
    who, habits = creator(seed, username), _habits(seed, username, anchor_ts)
    rng = rng_for(seed, username, "growth-reel", anchor_ts, n)
    is_outlier = rng.random() < habits.outlier_rate
    spread = rng.uniform(4, 10) if is_outlier else lognormal(rng, 0.0, 0.45)
    views = max(50, int(who.median_views * spread))
    likes = int(views * habits.engagement * lognormal(rng, 0.0, 0.3))
    view_roll = rng.random()
    hook = draw_hook(rng, who.niche, who.voice)
    index = habits.count + n
    return ReelRecord(
        index=index,
        pk=3 * 10**18 + rng.getrandbits(59),
        code=shortcode(username, index),
        taken_at=taken_at,
        views=None if view_roll < 0.02 else views,
        play_count_missing=view_roll < 0.06,
        likes=likes,
        comments=int(likes * lognormal(rng, _LOG_COMMENT_RATIO, 0.5)),
        hook=hook,
        caption=draw_caption(rng, who.niche, hook, who.voice),
        has_speech=rng.random() >= 0.15,
        is_outlier=is_outlier,
    )


def _aged(reel: ReelRecord, now_ts: int) -> ReelRecord:
    return _scaled(reel, view_share(now_ts - reel.taken_at))


def _grown_from_anchor(reel: ReelRecord, anchor_ts: int, now_ts: int) -> ReelRecord:
    gained = view_share(now_ts - reel.taken_at) - view_share(anchor_ts - reel.taken_at)
    return _scaled(reel, 1.0 + _ANCHOR_TAIL * gained / (1.0 - _FIRST_SHARE))


def _scaled(reel: ReelRecord, factor: float) -> ReelRecord:
    def scale(count: int) -> int:
        return int(count * factor)

    views = None if reel.views is None else max(1, scale(reel.views))
    return replace(reel, views=views, likes=scale(reel.likes), comments=scale(reel.comments))
