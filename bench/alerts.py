"""Figure 12: watchlists (issue 15). One refresh cycle of 10,000 watched creators under the provider budget
the alerts service is given, and the latency from the ingestion that reveals an outlier to the request
at the watcher's webhook.

The watches are WatchStarted events appended in bulk (as many per user as the gateway allows) and consumed
by the alerts service, while the bench holds the refresh loop's lock as another replica would: the cycle
starts with every watch in place. profile-ingest does not run (at figure 4's pace, about 20 profiles/s,
10,000 fetches take minutes), so the refresh figures are the requests issued. The ingestions are
ProfileIngested events the bench appends at a fixed rate, each revealing one outlier to one watcher."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from bench.auth import SECRET
from bench.backbone import STORE, append_latency
from bench.cpu import CpuUse
from bench.environment import BenchEnvironment, progress, wait_until
from bench.stats import summary_ms
from libs.events import NewEvent
from libs.events.catalog import ProfileIngested, WatchStarted, profile_stream, watchlist_stream
from libs.webhooks.signing import verify
from services.gateway.settings import GatewaySettings
from tests.support.projector import ingested, reel
from tests.support.tokens import claims, hs256

WATCHED = 10_000
WATCHES_PER_USER = GatewaySettings.model_fields["max_watches_per_user"].default
PER_TICK = 500
TICK_S = 1.0
ALERTS = 240
RATE = 15  # ingestions a second: spread out, so the figure is latency and not a queue
REELS = 50
THRESHOLD = 3.0
GOALS_MS = {"p50_ms": 200.0, "p99_ms": 1000.0}
REFERENCE_SECONDS = 8
REFERENCE_FIRST_ID = 0x50000000
SIGNING_KEY = "bench-webhook-signing-key"
# The refresh loop's lock (services/alerts/repository.py lock_refresh): held, the loop skips its ticks.
REFRESH_LOCK = "hashtext('alerts:refresh')"

_REQUESTED = """SELECT stream_id, payload->>'priority' AS priority, tx_id::text::bigint AS tick,
                       extract(epoch FROM occurred_at)::float8 AS at
                FROM eventstore.events
                WHERE stream_id = ANY($1) AND event_type = 'ProfileRequested'
                  AND payload->>'source' = 'watchlist'"""

# Each alert with the points its path passed: the ingestion published (the gateway's relay), the alert
# decided (its occurred_at in the alerts service's handler), published (the alerts relay), its delivery
# owed (the start of the transaction handling the OutlierDetected), claimed for its first attempt, and
# that attempt recorded (after the receiver's answer).
_PATH = """SELECT o.event_id::text AS alert_id, o.causation_id,
                  extract(epoch FROM i.published_at)::float8 AS ingestion_published,
                  extract(epoch FROM o.occurred_at)::float8 AS alert_decided,
                  extract(epoch FROM o.published_at)::float8 AS alert_published,
                  extract(epoch FROM d.created_at)::float8 AS delivery_owed,
                  extract(epoch FROM d.first_attempt_at)::float8 AS delivery_claimed,
                  extract(epoch FROM a.occurred_at)::float8 AS attempt_recorded,
                  (a.payload->>'duration_ms')::float8 AS attempt_ms, d.state, d.attempts
           FROM eventstore.events o
           JOIN eventstore.events i ON i.event_id = o.causation_id
           LEFT JOIN alerts.deliveries d ON d.alert_event_id = o.event_id
           LEFT JOIN eventstore.events a ON a.stream_id = 'webhook-' || d.endpoint_id
                AND a.event_type = 'WebhookDeliveryAttempted' AND a.payload->>'attempt' = '1'
                AND a.payload->>'alert_event_id' = o.event_id::text
           WHERE o.event_type = 'OutlierDetected' AND o.causation_id = ANY($1::uuid[])"""
_UNSETTLED = "SELECT count(*) FROM alerts.deliveries WHERE state IN ('pending', 'sending')"


@dataclass
class Receiver:
    """The watchers' webhook endpoints (/hook/<user id>) on loopback: when each alert's first request
    arrived, and whether every request's signature verifies with its endpoint's secret."""

    secrets: dict[str, str] = field(default_factory=dict)
    arrivals: dict[str, float] = field(default_factory=dict)
    requests: int = 0
    bad_signatures: int = 0
    base: str = ""
    _runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        arrived = time.time()
        body = await request.read()
        self.requests += 1
        secret = self.secrets.get(request.match_info["user"], "")
        header = request.headers.get("X-ViralSpot-Signature", "")
        if not secret or not verify(secret, header, body, now=int(arrived)):
            self.bad_signatures += 1
        self.arrivals.setdefault(orjson.loads(body)["id"], arrived)
        return web.Response(text="ok")

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook/{user}", self.handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.base = f"http://{host}:{port}/hook"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def register_webhooks(env: BenchEnvironment, receiver: Receiver, watchers: list[str]) -> None:
    """Each watcher registers an endpoint through the gateway, which checks the URL and shows its secret."""
    url = f"http://127.0.0.1:{env.ports['gateway']}/api/webhooks"
    async with aiohttp.ClientSession() as session:
        for user in watchers:
            headers = {"Authorization": f"Bearer {hs256(claims(user, lifetime_s=3600), SECRET)}"}
            async with session.post(
                url, json={"url": f"{receiver.base}/{user}"}, headers=headers
            ) as response:
                body = await response.json()
                assert response.status == 201, body
            receiver.secrets[user] = body["data"]["secret"]


async def seed_watches(env: BenchEnvironment, watching: dict[str, list[str]], alert_from: datetime) -> None:
    """Every watch in one transaction, each watcher's as one append to their watchlist stream."""
    assert env.pool is not None
    async with env.pool.acquire() as conn, conn.transaction():
        for user, creators in watching.items():
            events = [
                NewEvent(event=WatchStarted(user_id=user, username=name, min_outlier_score=THRESHOLD,
                                            alert_from=alert_from))
                for name in creators
            ]  # fmt: skip
            await STORE.append(conn, watchlist_stream(user), events, expected_version=0)


def busiest_window(times: list[float], window_s: float) -> int:
    """The most of `times` that fall in any interval [t, t + window_s)."""
    ordered, first, most = sorted(times), 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= window_s:
            first += 1
        most = max(most, last - first + 1)
    return most


async def refresh_cycle(env: BenchEnvironment, watching: dict[str, list[str]]) -> dict[str, Any]:
    assert env.pool is not None
    pool = env.pool
    creators = [name for names in watching.values() for name in names]

    async def count(sql: str) -> int:
        return int(await pool.fetchval(sql))

    async def all_watched() -> bool:
        return await count("SELECT count(*) FROM alerts.watches") >= WATCHED

    async def all_refreshed() -> bool:
        return await count("SELECT count(*) FROM alerts.refreshes") >= WATCHED

    async with pool.acquire() as lock:
        await lock.execute(f"SELECT pg_advisory_lock({REFRESH_LOCK})")
        try:
            started = time.perf_counter()
            await seed_watches(env, watching, datetime.now(UTC) - timedelta(days=1))
            appended_s = time.perf_counter() - started
            await wait_until(all_watched, 180, "the alerts service to consume the watches")
            consumed_s = time.perf_counter() - started
        finally:
            await lock.execute(f"SELECT pg_advisory_unlock({REFRESH_LOCK})")
    released = time.perf_counter()
    with CpuUse(env.pids) as cpu:
        await wait_until(all_refreshed, 60 + 4 * WATCHED / PER_TICK * TICK_S, "every watch refreshed")
    until_all_s = time.perf_counter() - released
    rows = await pool.fetch(_REQUESTED, [profile_stream(name) for name in creators])
    per_creator = Counter(r["stream_id"] for r in rows)
    by_tick: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        by_tick[r["tick"]].append(r["at"])
    ticks = sorted(by_tick.values(), key=min)
    starts = [min(t) for t in ticks]
    periods = [b - a for a, b in itertools.pairwise(starts)]
    mean_period = sum(periods) / len(periods) if periods else 0.0
    ats = [r["at"] for r in rows]
    return {
        "watches_appended_s": round(appended_s, 2),
        "watches_consumed_s": round(consumed_s, 2),
        "watches_consumed_per_s": round(WATCHED / consumed_s),
        "requests": len(rows),
        "medium": sum(r["priority"] == "MEDIUM" for r in rows),
        "requested_once": sum(n == 1 for n in per_creator.values()),
        "requested_more": sum(n > 1 for n in per_creator.values()),
        "not_requested": WATCHED - len(per_creator),
        "ticks": len(ticks),
        "max_per_tick": max(len(t) for t in ticks),
        "max_in_tick_s_window": busiest_window(ats, TICK_S),
        "cycle_s": round(max(ats) - min(ats), 2),
        # The least time WATCHED requests can span in ticks of PER_TICK, one tick every TICK_S.
        "reference_s": (math.ceil(WATCHED / PER_TICK) - 1) * TICK_S,
        "release_to_all_s": round(until_all_s, 2),
        "mean_tick_period_s": round(mean_period, 3),
        "mean_tick_work_s": round(sum(max(t) - min(t) for t in ticks) / len(ticks), 3),
        "sustained_per_s": round(PER_TICK / mean_period, 1) if mean_period else None,
        "cpu_cores": cpu.cores,
    }


def ingestion(name: str, n: int, now: datetime) -> ProfileIngested:
    """A fetch of REELS reels of which one, posted an hour ago (after the watch's alert_from), scores
    twice the threshold; the rest are older and typical, so the ingestion reveals exactly one outlier."""
    median = 10_000
    hot = reel(f"bench{n}x0", median * 6, now - timedelta(hours=1), outlier_score=6.0)
    usual = [
        reel(f"bench{n}x{k}", median + 50 * k, now - timedelta(days=k + 1), outlier_score=1 + k / 1000)
        for k in range(1, REELS)
    ]
    return ingested(name, [hot, *usual], median_views=median)


async def alert_latency(env: BenchEnvironment, receiver: Receiver, creators: list[str]) -> dict[str, Any]:
    """ALERTS ingestions at RATE a second, scheduled by the clock, each in its own transaction."""
    assert env.pool is not None
    pool = env.pool
    now = datetime.now(UTC)
    events = [ingestion(name, n, now) for n, name in enumerate(creators)]
    committed: dict[uuid.UUID, float] = {}

    async def ingest(name: str, event: ProfileIngested) -> None:
        new = NewEvent(event=event)
        async with pool.acquire() as conn, conn.transaction():
            await STORE.append(conn, profile_stream(name), [new], expected_version=None)
        committed[new.event_id] = time.time()

    async def all_received() -> bool:
        return len(receiver.arrivals) >= len(creators)

    async def settled() -> bool:
        return not await pool.fetchval(_UNSETTLED)

    loop = asyncio.get_running_loop()
    with CpuUse(env.pids) as cpu:
        started = loop.time()
        tasks = []
        for i, (name, event) in enumerate(zip(creators, events, strict=True)):
            await asyncio.sleep(max(0.0, started + i / RATE - loop.time()))
            tasks.append(asyncio.create_task(ingest(name, event)))
        await asyncio.gather(*tasks)
        elapsed = loop.time() - started
        try:
            await wait_until(all_received, 60, "every alert at its webhook")
            await wait_until(settled, 30, "every delivery attempt recorded")
        except TimeoutError:
            pass  # reported: received < alerts
    rows = await pool.fetch(_PATH, list(committed))
    marks: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        start = committed[r["causation_id"]]
        arrived = receiver.arrivals.get(r["alert_id"])
        points = {**{k: r[k] for k in ("ingestion_published", "alert_decided", "alert_published",
                                       "delivery_owed", "delivery_claimed")},
                  "received": arrived, "attempt_recorded": r["attempt_recorded"]}  # fmt: skip
        for mark, at in points.items():
            if at is not None:
                marks[mark].append(at - start)
    return {
        "ingestions": len(committed),
        "target_rate": RATE,
        "achieved_rate": round(len(committed) / elapsed, 1),
        "reels_per_ingestion": REELS,
        "alerts": len(rows),
        "received": len(marks["received"]),
        "requests": receiver.requests,
        "bad_signatures": receiver.bad_signatures,
        "first_attempt_delivered": sum(r["state"] == "delivered" and r["attempts"] == 1 for r in rows),
        **summary_ms(marks["received"]),
        "attempt": summary_ms([r["attempt_ms"] / 1000 for r in rows if r["attempt_ms"] is not None]),
        "marks": {mark: summary_ms(values) for mark, values in marks.items()},
        "goal_ms": GOALS_MS,
        "cpu_cores": cpu.cores,
    }


async def section(env: BenchEnvironment) -> dict[str, Any]:
    assert env.pool is not None
    pool = env.pool

    async def drained() -> bool:
        if await pool.fetchval("SELECT count(*) FROM eventstore.events WHERE published_at IS NULL"):
            return False
        return not (await env.queue_depth("alerts") or await env.queue_depth("projector"))

    users = -(-WATCHED // WATCHES_PER_USER)
    watchers = [f"bench.watcher{u}" for u in range(users)]
    creators = [f"bench.watched{i}" for i in range(WATCHED)]
    per_user = WATCHES_PER_USER
    watching = {user: creators[u * per_user : (u + 1) * per_user] for u, user in enumerate(watchers)}
    receiver = await Receiver().start()
    try:
        # This figure's gateway verifies users' tokens and registers webhooks (loopback allowed).
        await env.stop("gateway")
        await env.start(
            "gateway", "services.gateway", "GATEWAY_PORT", AUTH_JWT_SECRET=SECRET,
            WEBHOOK_SIGNING_KEY=SIGNING_KEY, WEBHOOK_ALLOW_LOOPBACK="true",
        )  # fmt: skip
        await env.start(
            "alerts", "services.alerts", "OPS_PORT", WEBHOOK_SIGNING_KEY=SIGNING_KEY,
            WEBHOOK_ALLOW_LOOPBACK="true", ALERTS_REFRESH_PER_TICK=str(PER_TICK),
            ALERTS_REFRESH_TICK_S=str(TICK_S),
        )  # fmt: skip
        await register_webhooks(env, receiver, watchers)
        # Its queue holds the ingestions of earlier figures, taken while it was not running.
        await wait_until(drained, 180, "earlier figures' events to be relayed and consumed")
        results: dict[str, Any] = {
            "watched": WATCHED, "watchers": users, "per_tick": PER_TICK, "tick_s": TICK_S,
            "refresh": progress("12. watch refresh cycle", await refresh_cycle(env, watching)),
        }  # fmt: skip
        await wait_until(drained, 180, "the cycle's requests to be relayed and projected")
        reference = await append_latency(env, RATE, REFERENCE_SECONDS, "bench_alerts_ref", REFERENCE_FIRST_ID)
        results["reference"] = progress("12. one hop, append to projected (reference)", reference)
        await wait_until(drained, 60, "the reference's events to be consumed")
        # Spread over every watcher's creators.
        picked = creators[:: WATCHED // ALERTS][:ALERTS]
        results["latency"] = progress("12. ingestion to webhook", await alert_latency(env, receiver, picked))
    finally:
        await env.stop("alerts")
        await receiver.stop()
    return results
