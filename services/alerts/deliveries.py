"""Webhook deliveries: each alert owed to an endpoint is sent, signed, and tried again with backoff and
jitter on a non-2xx answer or a timeout, for WEBHOOK_GIVE_UP_S after its first attempt; then it is given
up and the endpoint is failing until a delivery to it succeeds.

The deliveries owed are rows (alerts.deliveries), written with the alert's handling, so the loop never
holds up event processing and a crash loses none. An attempt's number is taken when it is claimed (one
statement, committed before the request), so one attempt is sent once at most; a worker killed mid-send
leaves its claim to run out, and the delivery is tried again as the next attempt (receivers deduplicate
on the body's `id`, as Stripe's do). Each attempt's outcome is a WebhookDeliveryAttempted, which the
owner reads at GET /api/webhooks/{id}/deliveries. The loop wakes on the NOTIFY of a new delivery's
commit, and polls besides."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime

import aiohttp
import asyncpg
import structlog

from libs.events import EventStore, NewEvent
from libs.events.catalog import WebhookDeliveryAttempted, webhook_stream
from libs.events.db import connect, is_database_outage
from libs.events.store import retry_on_conflict
from libs.webhooks import outbound, retry, signing
from services.alerts import metrics, repository
from services.alerts.domain import EVENT_TYPE, after_attempt
from services.alerts.settings import AlertsSettings

log = structlog.get_logger(__name__)


class Deliveries:
    def __init__(self, store: EventStore, settings: AlertsSettings, rng: random.Random | None = None) -> None:
        self.store = store
        self.settings = settings
        self.key = settings.webhook_signing_key.get_secret_value().encode()
        # A claim outlives the request it covers, whatever its timeout.
        self.claim_s = settings.webhook_timeout_s * 2 + 5
        self.rng = rng or random.Random()
        self._wake = asyncio.Event()

    async def loop(self, pool: asyncpg.Pool) -> None:
        s = self.settings
        listener: asyncpg.Connection | None = None
        async with outbound.session(
            allow_loopback=s.webhook_allow_loopback, timeout_s=s.webhook_timeout_s
        ) as http:
            try:
                while True:
                    try:
                        if listener is None or listener.is_closed():
                            listener = await self._listen()
                        if await self.run_once(pool, http):
                            continue  # more may be due
                    except Exception as exc:
                        if not is_database_outage(exc):
                            raise
                        log.warning("alerts.deliveries_database_unavailable", error=repr(exc))
                    try:
                        await asyncio.wait_for(self._wake.wait(), s.webhook_poll_s)
                    except TimeoutError:
                        pass
                    self._wake.clear()
            finally:
                if listener is not None and not listener.is_closed():
                    await listener.close()

    async def _listen(self) -> asyncpg.Connection:
        conn = await connect(self.settings.database_url)
        await conn.add_listener(repository.DELIVERIES_CHANNEL, lambda *_: self._wake.set())
        return conn

    async def run_once(self, pool: asyncpg.Pool, http: aiohttp.ClientSession) -> int:
        """Claims what is due (up to WEBHOOK_CONCURRENCY) and attempts each; returns how many."""
        async with pool.acquire() as conn:
            claimed = await repository.claim_due(conn, self.settings.webhook_concurrency, self.claim_s)
        await asyncio.gather(*(self._attempt(pool, http, row) for row in claimed))
        return len(claimed)

    async def _attempt(self, pool: asyncpg.Pool, http: aiohttp.ClientSession, row: asyncpg.Record) -> None:
        s = self.settings
        endpoint_id, attempt, body = row["endpoint_id"], row["attempts"], bytes(row["body"])
        if row["removed"]:
            outcome = outbound.Outcome(status=None, error="endpoint removed", duration_ms=0.0)
        else:
            secret = signing.derive_secret(self.key, endpoint_id)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "ViralSpot-Webhooks/1",
                "X-ViralSpot-Signature": signing.signature_header(secret, int(time.time()), body),
                "X-ViralSpot-Event": EVENT_TYPE,
                "X-ViralSpot-Delivery": str(row["delivery_id"]),
                "X-ViralSpot-Attempt": str(attempt),
            }
            outcome = await outbound.deliver(http, row["url"], body, headers)
        now = datetime.now(UTC)
        delay = retry.next_attempt_delay(
            attempt, self.rng, base_s=s.webhook_retry_base_s, cap_s=s.webhook_retry_cap_s
        )
        give_up_s = 0.0 if row["removed"] else s.webhook_give_up_s
        state, retry_at = after_attempt(outcome.ok, row["first_attempt_at"], now, delay, give_up_s)
        attempted = WebhookDeliveryAttempted(
            user_id=row["user_id"], endpoint_id=endpoint_id, delivery_id=str(row["delivery_id"]),
            alert_event_id=str(row["alert_event_id"]), attempt=attempt, state=state, status_code=outcome.status,
            error=(outcome.error or None) and outcome.error[:500], duration_ms=round(outcome.duration_ms, 1),
            next_attempt_at=retry_at,
        )  # fmt: skip

        async def record(conn: asyncpg.Connection) -> bool:
            async with conn.transaction():
                if not await repository.settle(conn, row["delivery_id"], attempt, state, retry_at):
                    return False
                if state != "retrying" and not row["removed"]:
                    await repository.set_failing(conn, endpoint_id, state == "gave_up")
                await self.store.append(
                    conn, webhook_stream(endpoint_id), [NewEvent(event=attempted)], expected_version=None
                )
            return True

        # The attempts of one claim run side by side, and those to one endpoint append to its one
        # stream: a conflict is recorded again, rather than crashing the loop and sending it twice.
        async with pool.acquire() as conn:
            if not await retry_on_conflict(lambda: record(conn)):
                return  # the claim ran out and a newer attempt owns the delivery
        metrics.DELIVERY_ATTEMPTS.labels(state).inc()
        if state == "delivered":
            metrics.DELIVERY_SECONDS.observe((datetime.now(UTC) - row["created_at"]).total_seconds())
        log.info("alerts.delivery_attempted", endpoint_id=endpoint_id, attempt=attempt, state=state,
                 status=outcome.status, error=outcome.error)  # fmt: skip
