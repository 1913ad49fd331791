"""CORS at the gateway over real HTTP, as a browser on another origin sends it: preflights and actual
requests from an allowed origin, from another one, and from anywhere when no origin is configured."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from libs.events import Topology
from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.conftest import make_settings

APP = "https://app.viralspot.test"
OTHER = "https://evil.test"
STRATEGY = {"contentType": "Home workouts", "targetAudience": "Busy parents", "goals": "Sell coaching"}
CORS_HEADERS = {
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Allow-Credentials",
}

StartGateway = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def start_gateway(
    gateway_runtime: ServiceRuntime, database_url: str, amqp_url: str, topology: Topology, aiohttp_client: Any
) -> StartGateway:
    async def start(**settings: Any) -> TestClient:
        config = make_settings(
            GatewaySettings, database_url, amqp_url, topology, admin_token="test-admin-token", **settings
        )
        client: TestClient = await aiohttp_client(create_app(gateway_runtime, config))
        return client

    return start


@pytest.fixture
async def api(start_gateway: StartGateway) -> TestClient:
    return await start_gateway(cors_origins=f"{APP}, http://127.0.0.1:3000", cors_max_age_s=900)


def preflight(
    origin: str, method: str = "POST", headers: str = "authorization, content-type"
) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


def listed(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",")}


def cors_headers_of(headers: Any) -> set[str]:
    return {name for name in CORS_HEADERS if name in headers}


async def test_a_preflight_from_an_allowed_origin_is_answered(api: TestClient) -> None:
    resp = await api.options("/api/viral-ideas/queue", headers=preflight(APP))
    assert resp.status == 204, await resp.text()
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    assert "post" in listed(resp.headers["Access-Control-Allow-Methods"])
    assert {"authorization", "content-type", "idempotency-key", "last-event-id"} <= listed(
        resp.headers["Access-Control-Allow-Headers"]
    )
    assert resp.headers["Access-Control-Max-Age"] == "900"
    assert "origin" in listed(resp.headers["Vary"])
    assert "Access-Control-Allow-Credentials" not in resp.headers  # tokens are headers, not cookies

    resp = await api.options("/api/viral-ideas/queue/demo-1", headers=preflight(APP, "GET"))
    assert resp.status == 204 and "get" in listed(resp.headers["Access-Control-Allow-Methods"])
    assert "post" not in listed(resp.headers["Access-Control-Allow-Methods"])
    second = await api.options("/api/reels", headers=preflight("http://127.0.0.1:3000", "GET"))
    assert second.status == 204 and second.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:3000"


async def test_a_preflight_from_another_origin_is_any_options_request(api: TestClient) -> None:
    for origin in (OTHER, "null", APP + ":8443", APP.upper()):
        resp = await api.options("/api/viral-ideas/queue", headers=preflight(origin))
        body = await resp.json()
        assert resp.status == 405 and body["error_code"] == "METHOD_NOT_ALLOWED", (origin, body)
        assert "post" in listed(resp.headers["Allow"])
        assert not cors_headers_of(resp.headers), (origin, resp.headers)
        assert "origin" in listed(resp.headers["Vary"])


async def test_options_without_an_origin_stays_a_405_with_allow(api: TestClient) -> None:
    resp = await api.options("/api/viral-ideas/queue-status")
    body = await resp.json()
    assert resp.status == 405 and body["error_code"] == "METHOD_NOT_ALLOWED", body
    assert "GET" in {m.strip() for m in resp.headers["Allow"].split(",")}
    assert not cors_headers_of(resp.headers)


async def test_an_actual_request_from_an_allowed_origin_may_be_read(api: TestClient) -> None:
    resp = await api.get("/api/viral-ideas/queue-status", headers={"Origin": APP})
    assert resp.status == 200, await resp.text()
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    exposed = listed(resp.headers["Access-Control-Expose-Headers"])
    assert {"retry-after", "idempotent-replayed", "location", "www-authenticate"} <= exposed
    assert "origin" in listed(resp.headers["Vary"])

    created = await api.post(
        "/api/viral-ideas/queue",
        json={"session_id": "cors-1", "primary_username": "fitwithmaya", "content_strategy": STRATEGY},
        headers={"Origin": APP, "Idempotency-Key": "cors-key-1"},
    )
    assert created.status == 201 and created.headers["Access-Control-Allow-Origin"] == APP
    # The live stream's headers go out before its body: the origin is allowed there too.
    async with api.get("/api/viral-ideas/queue/cors-1/events", headers={"Origin": APP}) as stream:
        assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
        assert stream.headers["Access-Control-Allow-Origin"] == APP


async def test_an_actual_request_from_another_origin_gets_no_cors_headers(api: TestClient) -> None:
    resp = await api.get("/api/viral-ideas/queue-status", headers={"Origin": OTHER})
    assert resp.status == 200 and not cors_headers_of(resp.headers), resp.headers
    assert "origin" in listed(resp.headers["Vary"])
    resp = await api.get("/api/viral-ideas/queue-status")
    assert resp.status == 200 and not cors_headers_of(resp.headers)
    assert "origin" in listed(resp.headers["Vary"])


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error_code"),
    [
        ("GET", "/api/no-such-route", None, 404, "NOT_FOUND"),
        ("DELETE", "/api/viral-ideas/queue-status", None, 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/api/profile/not%20valid!/status", None, 400, "INVALID_USERNAME"),
        ("POST", "/api/viral-ideas/queue", {"session_id": "x"}, 422, "VALIDATION_ERROR"),
        ("POST", "/api/viral-ideas/process-pending", None, 401, "UNAUTHORIZED"),
        ("GET", "/api/viral-ideas/queue/no-such-session", None, 404, "QUEUE_NOT_FOUND"),
    ],
)
async def test_error_answers_carry_the_cors_headers_for_an_allowed_origin(
    api: TestClient, method: str, path: str, body: Any, status: int, error_code: str
) -> None:
    resp = await api.request(method, path, json=body, headers={"Origin": APP})
    payload = await resp.json()
    assert resp.status == status and payload["error_code"] == error_code, payload
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    assert "www-authenticate" in listed(resp.headers["Access-Control-Expose-Headers"])
    other = await api.request(method, path, json=body, headers={"Origin": OTHER})
    assert other.status == status and not cors_headers_of(other.headers)


async def test_with_no_origin_configured_nobody_gets_cors_headers(start_gateway: StartGateway) -> None:
    api = await start_gateway()
    resp = await api.options("/api/viral-ideas/queue", headers=preflight(APP))
    assert resp.status == 405 and "POST" in resp.headers["Allow"]
    assert not cors_headers_of(resp.headers)
    resp = await api.get("/api/viral-ideas/queue-status", headers={"Origin": APP})
    assert resp.status == 200 and not cors_headers_of(resp.headers)
