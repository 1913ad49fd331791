"""What a user's watchlist and webhooks streams say, folded (no I/O): the gateway decides on them
(limits, duplicates, ownership) and lists them from the fold, fresh right after a change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from libs.events.envelope import Envelope


@dataclass(frozen=True)
class Watch:
    min_outlier_score: float
    started_at: datetime
    alert_from: datetime
    min_niche_score: float | None = None


@dataclass
class Watchlist:
    version: int = 0
    watching: dict[str, Watch] = field(default_factory=dict)  # in the order first watched


def fold_watchlist(events: list[Envelope]) -> Watchlist:
    state = Watchlist()
    for e in events:
        state.version = e.stream_version
        p = e.payload
        if e.event_type == "WatchStarted":
            held = state.watching.get(p["username"])
            started = held.started_at if held is not None else e.occurred_at
            alert_from = datetime.fromisoformat(p["alert_from"])
            state.watching[p["username"]] = Watch(
                p["min_outlier_score"], started, alert_from, p.get("min_niche_score")
            )
        elif e.event_type == "WatchStopped":
            state.watching.pop(p["username"], None)
    return state


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: str
    url: str
    description: str
    created_at: datetime


@dataclass
class Webhooks:
    version: int = 0
    endpoints: dict[str, Endpoint] = field(default_factory=dict)


def fold_webhooks(events: list[Envelope]) -> Webhooks:
    state = Webhooks()
    for e in events:
        state.version = e.stream_version
        p = e.payload
        if e.event_type == "WebhookRegistered":
            state.endpoints[p["endpoint_id"]] = Endpoint(
                p["endpoint_id"], p["url"], p.get("description", ""), e.occurred_at
            )
        elif e.event_type == "WebhookRemoved":
            state.endpoints.pop(p["endpoint_id"], None)
    return state
