"""The alerts service's tables (schema alerts, migration 016): watches, what was alerted, the refresh
times of watched creators, the endpoints and the deliveries owed to them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg

from services.alerts.domain import Watch

DELIVERIES_CHANNEL = "alerts_deliveries"  # NOTIFY'd with each new delivery: the loop wakes at commit


async def upsert_watch(
    conn: asyncpg.Connection, user_id: str, username: str, min_outlier_score: float,
    min_niche_score: float | None, alert_from: datetime,
) -> None:  # fmt: skip
    await conn.execute(
        """INSERT INTO alerts.watches (user_id, username, min_outlier_score, min_niche_score, alert_from)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (username, user_id) DO UPDATE
           SET min_outlier_score = EXCLUDED.min_outlier_score, min_niche_score = EXCLUDED.min_niche_score,
               alert_from = EXCLUDED.alert_from""",
        user_id,
        username,
        min_outlier_score,
        min_niche_score,
        alert_from,
    )


async def delete_watch(conn: asyncpg.Connection, user_id: str, username: str) -> None:
    await conn.execute("DELETE FROM alerts.watches WHERE username = $1 AND user_id = $2", username, user_id)


async def watchers_of(conn: asyncpg.Connection, username: str) -> list[Watch]:
    rows = await conn.fetch(
        """SELECT user_id, min_outlier_score, min_niche_score, alert_from FROM alerts.watches
           WHERE username = $1""",
        username,
    )
    return [Watch(r["user_id"], r["min_outlier_score"], r["alert_from"], r["min_niche_score"]) for r in rows]


async def niche_medians(
    conn: asyncpg.Connection, buckets: set[tuple[str, date]]
) -> dict[tuple[str, date], float]:
    """The median views of each (category, month) asked, where the read model holds one. The niche
    baseline aggregates every creator's reels, which only the projector sees: this one table is read
    where it is kept, read-only, as the gateway reads the read model (a baseline a little behind moves
    a median of many reels little)."""
    if not buckets:
        return {}
    categories, months = zip(*buckets, strict=True)
    rows = await conn.fetch(
        """SELECT b.category, b.month, b.median_views FROM readmodel.niche_baselines b
           JOIN unnest($1::text[], $2::date[]) AS q(category, month) USING (category, month)
           WHERE b.median_views > 0""",
        list(categories),
        list(months),
    )
    return {(r["category"], r["month"]): r["median_views"] for r in rows}


async def record_detection(
    conn: asyncpg.Connection, user_id: str, content_id: str, threshold: float,
    niche_threshold: float | None, event_id: uuid.UUID, at: datetime,
) -> bool:  # fmt: skip
    """True the first time this user is alerted to this reel at these thresholds."""
    done = await conn.execute(
        """INSERT INTO alerts.detections (user_id, content_id, threshold, niche_threshold, event_id,
                                          detected_at)
           VALUES ($1, $2, $3, coalesce($4, 0), $5, $6) ON CONFLICT DO NOTHING""",
        user_id,
        content_id,
        threshold,
        niche_threshold,
        event_id,
        at,
    )
    return done == "INSERT 0 1"


async def fetched(conn: asyncpg.Connection, username: str, at: datetime) -> None:
    """A watched creator fetched (by anyone): the refresh waits a whole interval from here."""
    await conn.execute(
        """INSERT INTO alerts.refreshes AS r (username, requested_at)
           SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM alerts.watches WHERE username = $1)
           ON CONFLICT (username) DO UPDATE SET requested_at = greatest(r.requested_at, EXCLUDED.requested_at)""",
        username,
        at,
    )


async def lock_refresh(conn: asyncpg.Connection) -> bool:
    """One refresh tick at a time across replicas (until the transaction ends)."""
    return await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext('alerts:refresh'))")


async def due_for_refresh(conn: asyncpg.Connection, older_than: datetime, limit: int) -> list[str]:
    """Watched creators not requested since `older_than`, the longest waiting first."""
    rows = await conn.fetch(
        """SELECT w.username FROM (SELECT DISTINCT username FROM alerts.watches) w
           LEFT JOIN alerts.refreshes r USING (username)
           WHERE r.requested_at IS NULL OR r.requested_at < $1
           ORDER BY r.requested_at NULLS FIRST, w.username LIMIT $2""",
        older_than,
        limit,
    )
    return [r["username"] for r in rows]


async def mark_requested(conn: asyncpg.Connection, username: str, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO alerts.refreshes (username, requested_at) VALUES ($1, $2)
           ON CONFLICT (username) DO UPDATE SET requested_at = EXCLUDED.requested_at""",
        username,
        at,
    )


async def upsert_endpoint(conn: asyncpg.Connection, endpoint_id: str, user_id: str, url: str) -> None:
    await conn.execute(
        """INSERT INTO alerts.endpoints (endpoint_id, user_id, url) VALUES ($1, $2, $3)
           ON CONFLICT (endpoint_id) DO NOTHING""",
        endpoint_id,
        user_id,
        url,
    )


async def remove_endpoint(conn: asyncpg.Connection, endpoint_id: str) -> None:
    """Its deliveries still owed are dropped: nobody wants them any more."""
    await conn.execute("UPDATE alerts.endpoints SET removed = true WHERE endpoint_id = $1", endpoint_id)
    await conn.execute(
        """UPDATE alerts.deliveries SET state = 'gave_up', claimed_until = NULL
           WHERE endpoint_id = $1 AND state = 'pending'""",
        endpoint_id,
    )


async def add_deliveries(
    conn: asyncpg.Connection, user_id: str, alert_event_id: uuid.UUID, body: bytes, at: datetime
) -> int:
    """One delivery per active endpoint of the user; the delivery loop is woken when this commits."""
    done = await conn.execute(
        """INSERT INTO alerts.deliveries (delivery_id, endpoint_id, user_id, alert_event_id, body, state,
                                          next_attempt_at)
           SELECT gen_random_uuid(), endpoint_id, user_id, $2, $3, 'pending', $4
           FROM alerts.endpoints WHERE user_id = $1 AND NOT removed
           ON CONFLICT (endpoint_id, alert_event_id) DO NOTHING""",
        user_id,
        alert_event_id,
        body,
        at,
    )
    added = int(done.split()[-1])
    if added:
        await conn.execute("SELECT pg_notify($1, '')", DELIVERIES_CHANNEL)
    return added


async def redeliver(conn: asyncpg.Connection, user_id: str, delivery_id: str, at: datetime) -> bool:
    """Sent again now, with a fresh give-up window; a delivery being sent right now is left to finish."""
    done = await conn.execute(
        """UPDATE alerts.deliveries SET state = 'pending', next_attempt_at = $3, first_attempt_at = NULL
           WHERE delivery_id = $1::uuid AND user_id = $2 AND state <> 'sending'""",
        delivery_id,
        user_id,
        at,
    )
    if done == "UPDATE 1":
        await conn.execute("SELECT pg_notify($1, '')", DELIVERIES_CHANNEL)
        return True
    return False


async def claim_due(conn: asyncpg.Connection, limit: int, claim_s: float) -> list[asyncpg.Record]:
    """Due deliveries, claimed for one attempt each (its number taken now, so an attempt is sent once).
    A claim that ran out (its worker died mid-send) is due again, as a new attempt."""
    return await conn.fetch(
        """WITH due AS (
               SELECT delivery_id FROM alerts.deliveries
               WHERE state IN ('pending', 'sending') AND next_attempt_at <= now()
               ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
           UPDATE alerts.deliveries d
           SET state = 'sending', attempts = d.attempts + 1, first_attempt_at = coalesce(d.first_attempt_at, now()),
               claimed_until = now() + make_interval(secs => $2), next_attempt_at = now() + make_interval(secs => $2)
           FROM due, alerts.endpoints e
           WHERE d.delivery_id = due.delivery_id AND e.endpoint_id = d.endpoint_id
           RETURNING d.delivery_id, d.endpoint_id, d.user_id, d.alert_event_id, d.body, d.attempts,
                     d.first_attempt_at, d.created_at, e.url, e.removed""",
        limit,
        claim_s,
    )


async def settle(
    conn: asyncpg.Connection, delivery_id: uuid.UUID, attempt: int, state: str, retry_at: datetime | None
) -> bool:
    """The attempt's outcome, if the claim is still this attempt's (a claim that ran out and was taken
    again belongs to the newer attempt)."""
    done = await conn.execute(
        """UPDATE alerts.deliveries
           SET state = CASE $3 WHEN 'retrying' THEN 'pending' ELSE $3 END, claimed_until = NULL,
               next_attempt_at = coalesce($4, next_attempt_at)
           WHERE delivery_id = $1 AND attempts = $2 AND state = 'sending'""",
        delivery_id,
        attempt,
        state,
        retry_at,
    )
    return done == "UPDATE 1"


async def set_failing(conn: asyncpg.Connection, endpoint_id: str, failing: bool) -> None:
    await conn.execute(
        "UPDATE alerts.endpoints SET failing = $2 WHERE endpoint_id = $1 AND failing <> $2",
        endpoint_id,
        failing,
    )
