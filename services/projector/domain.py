"""The projector's pure decisions: the content rows an event writes, which content rows a batch of
events can change (the discovery totals are kept from those rows alone), and the categorisations that
follow an ingestion in its batch (written with it). No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from libs.events.catalog import ContentFetched, ProfileCategorised, ProfileIngested, ReelsCategorised
from libs.events.envelope import Envelope
from libs.scoring import post_engagement_rate

# The columns a content row takes from its snapshot, in the order content_row returns them.
CONTENT_COLUMNS = (
    "shortcode", "url", "description", "view_count", "like_count", "comment_count", "outlier_score",
    "engagement_rate", "date_posted", "thumbnail_url", "post_type", "carousel_count",
)  # fmt: skip

# The creator's profile values every content row of theirs carries (content column, profile column), so
# the feed filters and sorts on them without a join.
CREATOR_COLUMNS = (
    ("creator_primary_category", "primary_category"), ("creator_secondary_category", "secondary_category"),
    ("creator_tertiary_category", "tertiary_category"), ("creator_followers", "followers"),
    ("creator_verified", "is_verified"), ("creator_account_type", "account_type"),
    ("creator_engagement_rate", "engagement_rate"), ("creator_reels", "total_reels"),
)  # fmt: skip
# A reel's own categories (ReelsCategorised), categorised_at last.
REEL_CATEGORY_COLUMNS = ("category", "keywords", "language", "content_style", "hook_type", "categorised_at")


@dataclass(frozen=True)
class TouchedContent:
    """Content rows a batch may change: every row of these creators, and these rows whoever holds them;
    and the creators whose profile it may change (their rows carry its values)."""

    usernames: tuple[str, ...] = ()
    content_ids: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.usernames or self.content_ids)


def touched_content(envelopes: Iterable[Envelope]) -> TouchedContent:
    usernames: set[str] = set()
    content_ids: set[str] = set()
    profiles: set[str] = set()
    for e in envelopes:
        p = e.payload
        if e.event_type == ProfileIngested.__name__:
            usernames.update((p["username"], p["profile"]["username"]))
            profiles.add(p["profile"]["username"])
            content_ids.update(x["content_id"] for x in [*p.get("reels", []), *p.get("posts", [])])
        elif e.event_type == ContentFetched.__name__:
            usernames.add(p["username"])
            if p.get("profile"):
                usernames.add(p["profile"]["username"])
                profiles.add(p["profile"]["username"])
            content_ids.update(x["content_id"] for x in p.get("reels", []))
        elif e.event_type == ProfileCategorised.__name__:
            usernames.add(p["username"])
            profiles.add(p["username"])
        elif e.event_type == ReelsCategorised.__name__:
            usernames.add(p["username"])
            content_ids.update(x["content_id"] for x in p.get("reels", []))
    return TouchedContent(tuple(sorted(usernames)), tuple(sorted(content_ids)), tuple(sorted(profiles)))


@dataclass(frozen=True)
class Ahead:
    """What follows a creator's ingestion on their stream in the same batch: their categorisations
    (ProfileCategorised, in order) and, per content id it writes, the reel categories that will stand
    (ReelCategories entry, occurred_at)."""

    creator: tuple[Envelope, ...] = ()
    reels: Mapping[str, tuple[Mapping[str, Any], datetime]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.creator or self.reels)


@dataclass(frozen=True)
class Step:
    """One event of a batch and how it is applied: through its projection, unless it is an ingestion
    written with what is `ahead` of it, or a categorisation whose part written so already is left out
    (`reels`: the entries still to file; `done`: nothing left)."""

    envelope: Envelope
    ahead: Ahead | None = None
    reels: tuple[Mapping[str, Any], ...] | None = None
    done: bool = False


def plan_batch(envelopes: Sequence[Envelope]) -> list[Step]:
    """A creator's ingestion followed in its batch by their categorisations writes its rows already
    filed, so a categorised reel is written once rather than inserted and then updated.

    It comes to the same rows. A categorisation stands against the one held when it occurred later or
    as late (`categorised_at <= occurred_at`), so applying a stream's categorisations one by one leaves
    the newest, the later of equals: the one `ahead` picks. The ingestion applies the creator's
    categorisations after it, in order, before writing its rows (nothing else writes those columns), and
    writes each of its reels with the reel categories that will stand; the categorisations then have
    nothing left to do there. Reels it does not write are filed where the categorisation stands."""
    streams: dict[str, list[int]] = {}
    for i, e in enumerate(envelopes):
        streams.setdefault(e.stream_id, []).append(i)
    steps = [Step(e) for e in envelopes]
    for positions in streams.values():
        ingested = False  # earlier in the batch, on this stream
        written: set[str] = set()  # by those ingestions
        for n, i in enumerate(positions):
            e = envelopes[i]
            if e.event_type == ProfileIngested.__name__:
                p = e.payload
                writes = {x["content_id"] for x in [*p.get("reels", []), *p.get("posts", [])]}
                ahead = _ahead(writes, [envelopes[j] for j in positions[n + 1 :]])
                if ahead:
                    steps[i] = Step(e, ahead=ahead)
                written |= writes
                ingested = True
            elif e.event_type == ProfileCategorised.__name__ and ingested:
                steps[i] = Step(e, done=True)
            elif e.event_type == ReelsCategorised.__name__ and written:
                left = tuple(r for r in e.payload.get("reels", []) if r["content_id"] not in written)
                steps[i] = Step(e, reels=left, done=not left)
    return steps


def _ahead(writes: set[str], later: Iterable[Envelope]) -> Ahead:
    creator: list[Envelope] = []
    reels: dict[str, tuple[Mapping[str, Any], datetime]] = {}
    for e in later:
        if e.event_type == ProfileCategorised.__name__:
            creator.append(e)
        elif e.event_type == ReelsCategorised.__name__:
            for entry in e.payload.get("reels", []):
                held = reels.get(entry["content_id"])
                if entry["content_id"] in writes and (held is None or held[1] <= e.occurred_at):
                    reels[entry["content_id"]] = (entry, e.occurred_at)
    return Ahead(tuple(creator), reels)


class ContentRow(NamedTuple):
    content_id: str
    values: tuple[object, ...]  # CONTENT_COLUMNS
    transcript: str | None


def content_rows(
    reels: Sequence[Mapping[str, Any]], posts: Sequence[Mapping[str, Any]] = (), followers: int | None = None
) -> list[ContentRow]:
    """One row per content id of a snapshot's reels and posts. A post has no views: its engagement is
    over the creator's followers.

    An item named twice in one snapshot is written once, as writing it twice would: the later values
    win and a transcript is kept when the later has none."""
    rows: dict[str, ContentRow] = {}
    items = [(r, "reel", r.get("engagement_rate"), None) for r in reels] + [
        (
            p,
            p["post_type"],
            post_engagement_rate(p.get("like_count", 0), p.get("comment_count", 0), followers),
            p.get("carousel_count"),
        )
        for p in posts
    ]
    for item, post_type, engagement, carousel_count in items:
        values = (
            item["shortcode"],
            item["url"],
            item.get("description"),
            item.get("view_count") if post_type == "reel" else None,
            item.get("like_count"),
            item.get("comment_count"),
            item.get("outlier_score"),
            engagement,
            _timestamp(item.get("date_posted")),
            item.get("thumbnail_url"),
            post_type,
            carousel_count,
        )
        content_id = item["content_id"]
        earlier = rows.get(content_id)
        transcript = item.get("transcript")
        if transcript is None and earlier is not None:
            transcript = earlier.transcript
        rows[content_id] = ContentRow(content_id, values, transcript)
    return list(rows.values())


def _timestamp(value: object) -> object:
    return datetime.fromisoformat(value) if isinstance(value, str) else value
