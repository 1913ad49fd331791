"""Webhooks (issue 15): a signed-in user registers HTTPS endpoints for their alerts and gets each one's
signing secret once, in the registration's answer; lists, removes them, reads each one's deliveries
with their attempts, and asks for a delivery to be sent again. A URL must be https (http only to
loopback when WEBHOOK_ALLOW_LOOPBACK is set, for development) and every address its host resolves to
public: a private, loopback or link-local one is refused here and again at each delivery (server-side
request forgery). Limits: MAX_WEBHOOKS_PER_USER endpoints (409 beyond)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from libs.events import NewEvent, WrongExpectedVersion
from libs.events.catalog import (
    WebhookRedeliveryRequested,
    WebhookRegistered,
    WebhookRemoved,
    webhook_stream,
    webhooks_stream,
)
from libs.events.store import retry_on_conflict
from libs.webhooks import outbound, signing
from services.gateway import keys
from services.gateway.boards import owner
from services.gateway.domain.subscriptions import Endpoint, Webhooks, fold_webhooks
from services.gateway.errors import ApiError, service_unavailable
from services.gateway.repository import alerts as store
from services.gateway.responses import iso, ok
from services.gateway.validation import parse_body, query_int


class WebhookBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2048)
    description: str = Field(default="", max_length=200)


def _not_found() -> ApiError:
    return ApiError(404, "WEBHOOK_NOT_FOUND", "No such webhook endpoint.")


async def _read(request: web.Request, conn: Any, user: str) -> Webhooks:
    return fold_webhooks(await request.app[keys.STORE].read_stream(conn, webhooks_stream(user)))


def _secret_key(request: web.Request) -> bytes:
    key = request.app[keys.SETTINGS].webhook_signing_key
    if key is None:
        raise ApiError(
            503, "WEBHOOKS_DISABLED", "Webhooks are not configured on this server.",
            troubleshooting="The operator sets WEBHOOK_SIGNING_KEY on the gateway and the alerts service.",
        )  # fmt: skip
    return key.get_secret_value().encode()


async def _checked_url(request: web.Request, raw: str) -> str:
    allow_loopback = request.app[keys.SETTINGS].webhook_allow_loopback
    try:
        url = outbound.check_url(raw, allow_loopback=allow_loopback)
        parts = urlsplit(url)
        await outbound.resolve_checked(
            parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80),
            allow_loopback=allow_loopback,
        )  # fmt: skip
    except ValueError as exc:  # UnsafeAddress included
        raise ApiError(400, "INVALID_WEBHOOK_URL", str(exc)) from None
    return url


async def register(request: web.Request) -> web.Response:
    user = await owner(request)
    key = _secret_key(request)
    body = await parse_body(request, WebhookBody)
    url = await _checked_url(request, body.url)  # before a connection is held: it resolves the host
    limit = request.app[keys.SETTINGS].max_webhooks_per_user
    endpoint_id = uuid.uuid4().hex
    async with request.app[keys.POOL].acquire() as conn:

        async def attempt() -> Any:
            state = await _read(request, conn, user)
            if len(state.endpoints) >= limit:
                raise ApiError(409, "WEBHOOK_LIMIT_REACHED", f"You have {limit} webhook endpoints, the most allowed.",
                               troubleshooting="Remove an endpoint you no longer use, then retry.")  # fmt: skip
            event = WebhookRegistered(
                user_id=user, endpoint_id=endpoint_id, url=url, description=body.description
            )
            [stored] = await request.app[keys.STORE].append(
                conn, webhooks_stream(user), [NewEvent(event=event)], expected_version=state.version
            )
            return stored

        try:
            stored = await retry_on_conflict(attempt)
        except WrongExpectedVersion:
            raise service_unavailable("The webhooks stream is too busy") from None
    endpoint = Endpoint(endpoint_id, url, body.description, stored.occurred_at)
    # The secret is shown here only; the alerts service derives it again to sign each delivery.
    return ok(
        {**_endpoint(endpoint, "active"), "secret": signing.derive_secret(key, endpoint_id)}, status=201
    )


def _endpoint(endpoint: Endpoint, status: str) -> dict[str, Any]:
    return {
        "id": endpoint.endpoint_id, "url": endpoint.url, "description": endpoint.description,
        "status": status, "created_at": iso(endpoint.created_at),
    }  # fmt: skip


async def list_webhooks(request: web.Request) -> web.Response:
    user = await owner(request)
    async with request.app[keys.POOL].acquire() as conn:
        state = await _read(request, conn, user)
        statuses = await store.endpoint_statuses(conn, user)
    endpoints = [_endpoint(e, statuses.get(e.endpoint_id, "active")) for e in state.endpoints.values()]
    limits = {"endpoints": request.app[keys.SETTINGS].max_webhooks_per_user}
    return ok({"webhooks": endpoints, "limits": limits})


async def remove(request: web.Request) -> web.Response:
    user, endpoint_id = await owner(request), request.match_info["webhook_id"]
    async with request.app[keys.POOL].acquire() as conn:

        async def attempt() -> None:
            state = await _read(request, conn, user)
            if endpoint_id not in state.endpoints:
                raise _not_found()
            event = WebhookRemoved(user_id=user, endpoint_id=endpoint_id)
            await request.app[keys.STORE].append(
                conn, webhooks_stream(user), [NewEvent(event=event)], expected_version=state.version
            )

        try:
            await retry_on_conflict(attempt)
        except WrongExpectedVersion:
            raise service_unavailable("The webhooks stream is too busy") from None
    return ok({"id": endpoint_id, "status": "removed"})


async def _owned(request: web.Request, conn: Any, user: str) -> str:
    endpoint_id = request.match_info["webhook_id"]
    if endpoint_id not in (await _read(request, conn, user)).endpoints:
        raise _not_found()
    return endpoint_id


async def deliveries(request: web.Request) -> web.Response:
    user = await owner(request)
    limit = query_int(request, "limit", 50, 1, 200)
    async with request.app[keys.POOL].acquire() as conn:
        endpoint_id = await _owned(request, conn, user)
        rows = await store.deliveries_of(conn, user, endpoint_id, limit)
    return ok({"webhook_id": endpoint_id, "deliveries": [_delivery(r) for r in rows]})


def _delivery(row: Any) -> dict[str, Any]:
    return {
        "id": row["delivery_id"], "alert_id": row["alert_event_id"], "state": row["state"],
        "attempts": row["attempts"], "status_code": row["status_code"], "error": row["error"],
        "next_attempt_at": iso(row["next_attempt_at"]), "first_attempt_at": iso(row["first_attempt_at"]),
        "last_attempt_at": iso(row["last_attempt_at"]), "history": row["history"],
    }  # fmt: skip


async def resend(request: web.Request) -> web.Response:
    user = await owner(request)
    delivery_id = request.match_info["delivery_id"]
    async with request.app[keys.POOL].acquire() as conn:
        endpoint_id = await _owned(request, conn, user)
        if await store.delivery(conn, user, endpoint_id, delivery_id) is None:
            raise ApiError(404, "DELIVERY_NOT_FOUND", "No such delivery for this endpoint.")
        event = WebhookRedeliveryRequested(user_id=user, endpoint_id=endpoint_id, delivery_id=delivery_id)
        await request.app[keys.STORE].append(
            conn, webhook_stream(endpoint_id), [NewEvent(event=event)], expected_version=None
        )
    return ok({"id": delivery_id, "webhook_id": endpoint_id, "status": "resend_requested"}, status=202)
