"""Alerts and webhooks (issue 15): the alert feed from
alerts-<user_id>, webhook_endpoints from webhooks-<user_id>, and webhook_deliveries (each delivery
with its attempts) from webhook-<endpoint_id>."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from libs.events.envelope import Envelope

HISTORY = 30  # attempts kept per delivery


def _timestamp(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


async def watch_started(conn: asyncpg.Connection, e: Envelope) -> None:
    """No table: the gateway folds the user's watchlist stream (small, and fresh right after a change)."""


async def watch_stopped(conn: asyncpg.Connection, e: Envelope) -> None:
    """As watch_started."""


async def outlier_detected(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """INSERT INTO alerts (event_id, user_id, username, content_id, shortcode, url, view_count,
                               outlier_score, threshold, median_views, date_posted, description,
                               detected_at, position, min_niche_score, niche_outlier_score, category)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
           ON CONFLICT (event_id) DO NOTHING""",
        e.event_id,
        p["user_id"],
        p["username"],
        p["content_id"],
        p["shortcode"],
        p["url"],
        p["view_count"],
        p["outlier_score"],
        p["threshold"],
        p.get("median_views"),
        _timestamp(p.get("date_posted")),
        p.get("description"),
        e.occurred_at,
        e.stream_version,
        p.get("min_niche_score"),
        p.get("niche_outlier_score"),
        p.get("category"),
    )


async def webhook_registered(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """INSERT INTO webhook_endpoints (endpoint_id, user_id, url, description, status, created_at,
                                          updated_at)
           VALUES ($1, $2, $3, $4, 'active', $5, $5) ON CONFLICT (endpoint_id) DO NOTHING""",
        p["endpoint_id"],
        p["user_id"],
        p["url"],
        p.get("description", ""),
        e.occurred_at,
    )


async def webhook_removed(conn: asyncpg.Connection, e: Envelope) -> None:
    await conn.execute(
        "UPDATE webhook_endpoints SET status = 'removed', updated_at = $2 WHERE endpoint_id = $1",
        e.payload["endpoint_id"],
        e.occurred_at,
    )


async def webhook_delivery_attempted(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    attempt = {
        "attempt": p["attempt"], "at": e.occurred_at.isoformat(), "state": p["state"],
        "status_code": p.get("status_code"), "error": p.get("error"), "duration_ms": p["duration_ms"],
    }  # fmt: skip
    await conn.execute(
        f"""INSERT INTO webhook_deliveries AS d (delivery_id, endpoint_id, user_id, alert_event_id, state,
                attempts, status_code, error, duration_ms, next_attempt_at, first_attempt_at,
                last_attempt_at, history)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, jsonb_build_array($12::jsonb))
            ON CONFLICT (delivery_id) DO UPDATE SET state = EXCLUDED.state, attempts = EXCLUDED.attempts,
                status_code = EXCLUDED.status_code, error = EXCLUDED.error,
                duration_ms = EXCLUDED.duration_ms, next_attempt_at = EXCLUDED.next_attempt_at,
                last_attempt_at = EXCLUDED.last_attempt_at,
                history = (SELECT coalesce(jsonb_agg(h ORDER BY n), '[]') FROM (
                    SELECT h, n FROM jsonb_array_elements(d.history || EXCLUDED.history)
                                     WITH ORDINALITY AS x(h, n)
                    ORDER BY n DESC LIMIT {HISTORY}) AS kept)""",
        p["delivery_id"],
        p["endpoint_id"],
        p["user_id"],
        p["alert_event_id"],
        p["state"],
        p["attempt"],
        p.get("status_code"),
        p.get("error"),
        p["duration_ms"],
        _timestamp(p.get("next_attempt_at")),
        e.occurred_at,
        attempt,
    )
    # The endpoint fails once a delivery gave up, and is active again with its next success.
    status = {"gave_up": "failing", "delivered": "active"}.get(p["state"])
    if status is not None:
        await conn.execute(
            """UPDATE webhook_endpoints SET status = $2, updated_at = $3
               WHERE endpoint_id = $1 AND status <> 'removed' AND status <> $2""",
            p["endpoint_id"],
            status,
            e.occurred_at,
        )


async def webhook_redelivery_requested(conn: asyncpg.Connection, e: Envelope) -> None:
    """Nothing to show until the attempt it asks for is made (its WebhookDeliveryAttempted)."""
