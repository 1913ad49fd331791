"""The alerts service's pure decisions: which reels of an ingestion a watcher is alerted to, what a
delivery's body is, and what an attempt's outcome means for the delivery. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import orjson

from libs.events.catalog import OutlierDetected, ReelSnapshot

EVENT_TYPE = "outlier.detected"  # the delivery body's `type`, as Stripe and GitHub name theirs


@dataclass(frozen=True)
class Watch:
    user_id: str
    min_outlier_score: float
    alert_from: datetime  # reels posted from then on
    min_niche_score: float | None = None


@dataclass(frozen=True)
class Crossing:
    watch: Watch
    reel: ReelSnapshot
    niche_outlier_score: float | None  # set when the watch asks for one


def niche_bucket(reel: ReelSnapshot, category: str | None) -> tuple[str, date] | None:
    """The (category, month) whose median the reel's niche score is over: the read model's niche
    window, the calendar month (UTC) it was posted in."""
    if category is None or reel.date_posted is None:
        return None
    posted = reel.date_posted.astimezone(UTC)
    return category, date(posted.year, posted.month, 1)


def crossings(
    reels: list[ReelSnapshot], watches: list[Watch], niche_scores: dict[str, float] | None = None
) -> list[Crossing]:
    """Each (watcher, reel) at or above the watcher's thresholds, new or grown. A reel posted before the
    watch's alert_from is not news; one without a date cannot be placed, so it is left out. A watch with
    a min_niche_score also needs the reel's niche score (views over its niche's median, by content_id):
    a reel not yet filed under a category, or in a niche without a baseline, waits for a later
    ingestion. Whether it was alerted already is the caller's (once per user, reel and thresholds)."""
    niche_scores = niche_scores or {}
    found = []
    for watch in watches:
        for reel in reels:
            if reel.view_count is None or reel.date_posted is None or reel.date_posted < watch.alert_from:
                continue
            if reel.outlier_score < watch.min_outlier_score:
                continue
            niche = niche_scores.get(reel.content_id) if watch.min_niche_score is not None else None
            if watch.min_niche_score is not None and (niche is None or niche < watch.min_niche_score):
                continue
            found.append(Crossing(watch, reel, niche))
    return found


def delivery_body(alert_event_id: str, occurred_at: datetime, alert: OutlierDetected) -> bytes:
    """The JSON a receiver gets: the alert's id (stable across retries: receivers deduplicate on it),
    its type, when it happened, and the alert itself."""
    data = alert.model_dump(mode="json", exclude={"user_id", "ingestion_event_id"})
    body: dict[str, Any] = {
        "id": alert_event_id,
        "type": EVENT_TYPE,
        "created_at": occurred_at.isoformat(),
        "data": data,
    }
    return orjson.dumps(body)


State = Literal["delivered", "retrying", "gave_up"]


def after_attempt(
    ok: bool, first_attempt_at: datetime, now: datetime, delay_s: float, give_up_s: float
) -> tuple[State, datetime | None]:
    """A failed attempt is tried again after `delay_s`, unless that falls past the give-up window."""
    if ok:
        return "delivered", None
    retry_at = now + timedelta(seconds=delay_s)
    if retry_at - first_attempt_at > timedelta(seconds=give_up_s):
        return "gave_up", None
    return "retrying", retry_at
