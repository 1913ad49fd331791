"""The gateway's HTTP edge: what it refuses and how, from bytes no HTTP client would send to bodies it
must not wait for. Real gateway, database and broker; raw sockets where a client would not send it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.support.raw_http import exchange, serving

ADMIN = {"Authorization": "Bearer test-admin-token"}
STRATEGY = {"contentType": "Home workouts", "targetAudience": "Busy parents", "goals": "Sell coaching"}
ADMIN_ENDPOINTS = [
    f"/api/viral-ideas/queue/{uuid.UUID(int=1)}/process",
    "/api/viral-ideas/process-pending",
    "/api/crawler/runs",
]


def job(**changes: Any) -> dict[str, Any]:
    return {
        "session_id": "edge-1",
        "primary_username": "fitwithmaya",
        "content_strategy": STRATEGY,
        **changes,
    }


def raw_request(method: str, target: str, *headers: bytes, body: bytes = b"") -> bytes:
    head = [f"{method} {target} HTTP/1.1".encode(), b"Host: gateway.test", *headers]
    if body:
        head += [b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
    return b"\r\n".join([*head, b"Connection: close", b"", b""]) + body


def assert_error_envelope(body: dict[str, Any], error_code: str) -> None:
    assert body["success"] is False and body["error_code"] == error_code, body
    assert body["detail"] and body["timestamp"].endswith("Z"), body


@pytest.fixture
async def address(
    gateway_runtime: ServiceRuntime, gateway_settings: GatewaySettings
) -> AsyncIterator[tuple[str, int]]:
    async with serving(create_app(gateway_runtime, gateway_settings)) as served:
        yield served


async def events_count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM eventstore.events"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (job(session_id="a\u0000b"), "session_id"),
        (job(content_strategy={**STRATEGY, "goals": "grow\u0000"}), "content_strategy.goals"),
        (
            job(content_strategy={**STRATEGY, "additionalNotes": "bell\u0007"}),
            "content_strategy.additionalNotes",
        ),
        (
            job(content_strategy={**STRATEGY, "contentType": "next line\u0085"}),
            "content_strategy.contentType",
        ),
        (job(analysis_settings={"tone\u0000": "calm"}), "analysis_settings.tone\\x00"),
        (job(analysis_settings={"tones": ["calm", "del\u007f"]}), "analysis_settings.tones.1"),
    ],
)
async def test_control_characters_in_a_job_are_refused_with_their_field(
    api: TestClient, pool: asyncpg.Pool, body: dict[str, Any], field: str
) -> None:
    resp = await api.post("/api/viral-ideas/queue", json=body)
    payload = await resp.json()
    assert resp.status == 422, payload
    assert_error_envelope(payload, "VALIDATION_ERROR")
    assert [f["field"] for f in payload["fields"]] == [field]
    assert await events_count(pool) == 0


async def test_tabs_and_line_breaks_in_a_job_are_text(api: TestClient) -> None:
    notes = "line one\nline two\r\n\tindented"
    resp = await api.post(
        "/api/viral-ideas/queue", json=job(content_strategy={**STRATEGY, "additionalNotes": notes})
    )
    assert resp.status == 201, await resp.text()


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/api/viral-ideas/queue/a%00b"),
        ("GET", "/api/viral-ideas/queue/a%00b/events"),
        ("GET", "/api/viral-ideas/queue/a%C2%85b"),
        ("GET", "/api/viral-ideas/queue/tab%09"),
        ("POST", "/api/profile/fitwithmaya/request?source=%00"),
        ("GET", "/api/profile/fitwithmaya/reels?sort_by=popular&x%01=1"),
    ],
)
async def test_control_characters_in_path_or_query_are_a_400(
    api: TestClient, pool: asyncpg.Pool, method: str, target: str
) -> None:
    resp = await api.request(method, target)
    payload = await resp.json()
    assert resp.status == 400, payload
    assert_error_envelope(payload, "INVALID_PARAMETER")
    assert await events_count(pool) == 0


@pytest.mark.parametrize("target", ADMIN_ENDPOINTS)
async def test_an_admin_token_that_is_not_utf8_is_forbidden(address: tuple[str, int], target: str) -> None:
    request = raw_request("POST", target, b"Authorization: Bearer \xff\xfe\xfd", body=b"{}")
    response = await exchange(address, request)
    assert response.status == 403, response
    assert_error_envelope(response.json(), "FORBIDDEN")


async def test_an_authorization_header_without_a_bearer_scheme_is_unauthorized(
    address: tuple[str, int],
) -> None:
    request = raw_request("POST", ADMIN_ENDPOINTS[1], b"Authorization: \xff\xfe\xfd")
    response = await exchange(address, request)
    assert response.status == 401, response
    assert_error_envelope(response.json(), "UNAUTHORIZED")


@pytest.mark.parametrize("value", [b"\xff\xfe\xfd", b"next line \xc2\x85", b"\xed\xa0\x80"])
async def test_a_header_that_is_not_text_is_a_400(address: tuple[str, int], value: bytes) -> None:
    request = raw_request("GET", "/api/viral-ideas/queue-status", b"X-Client-Note: " + value)
    response = await exchange(address, request)
    assert response.status == 400, response
    assert_error_envelope(response.json(), "INVALID_HEADER")


@pytest.mark.parametrize("value", ["\u00b2".encode(), b"1234567890", b"-1", b"abc", b""])
async def test_a_last_event_id_that_is_not_an_event_id_is_a_400(
    api: TestClient, address: tuple[str, int], value: bytes
) -> None:
    assert (await api.post("/api/viral-ideas/queue", json=job())).status == 201
    request = raw_request("GET", "/api/viral-ideas/queue/edge-1/events", b"Last-Event-ID: " + value)
    response = await exchange(address, request)
    assert response.status == 400, response
    assert_error_envelope(response.json(), "INVALID_LAST_EVENT_ID")


async def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(address: tuple[str, int]) -> None:
    request = raw_request("POST", "/api/viral-ideas/queue", b"Content-Length: 99999999999").replace(
        b"Connection: close\r\n", b""
    )
    # A short timeout: the answer must not wait for bytes that will never come.
    response = await exchange(address, request + b'{"session_id": ', timeout_s=2)
    assert response.status == 413, response
    assert response.headers["connection"].lower() == "close"
    assert_error_envelope(response.json(), "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    ("request_bytes", "error_code"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", "REQUEST_TOO_LARGE"),
        (b"FOO /api/viral-ideas/queue-status HTTP/1.1\r\nHost: t\r\n\r\n", "INVALID_METHOD"),
        (b"get /api/viral-ideas/queue-status HTTP/1.1\r\nHost: t\r\n\r\n", "INVALID_METHOD"),
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Note: a\x01<script>\r\n\r\n", "MALFORMED_REQUEST"),
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\nBad Name<script>: x\r\n\r\n", "MALFORMED_REQUEST"),
    ],
)
async def test_requests_the_http_parser_refuses_get_the_error_envelope_without_an_echo(
    address: tuple[str, int], request_bytes: bytes, error_code: str
) -> None:
    response = await exchange(address, request_bytes)
    assert response.status == 400, response
    assert_error_envelope(response.json(), error_code)
    for echoed in (b"aaaa", b"FOO", b"get", b"<script>"):
        assert echoed not in response.body


async def test_a_failure_outside_the_error_middleware_is_a_json_500_without_a_traceback() -> None:
    async def broken(_request: web.Request) -> web.Response:
        raise RuntimeError("connection string postgresql://secret")

    app = web.Application()
    app.router.add_get("/broken", broken)
    async with serving(app) as address:
        response = await exchange(address, raw_request("GET", "/broken", b"Accept: text/html"))
    assert response.status == 500, response
    assert_error_envelope(response.json(), "INTERNAL_ERROR")
    assert b"secret" not in response.body and b"Traceback" not in response.body


async def test_a_method_the_endpoint_does_not_take_is_a_405_with_allow(api: TestClient) -> None:
    resp = await api.delete("/api/viral-ideas/queue-status")
    assert resp.status == 405
    assert_error_envelope(await resp.json(), "METHOD_NOT_ALLOWED")
    assert "GET" in {m.strip() for m in resp.headers["Allow"].split(",")}


async def test_null_seed_usernames_is_refused_and_no_body_means_automatic_seeds(
    api: TestClient, pool: asyncpg.Pool
) -> None:
    resp = await api.post("/api/crawler/runs", json={"seed_usernames": None}, headers=ADMIN)
    payload = await resp.json()
    assert resp.status == 422, payload
    assert_error_envelope(payload, "VALIDATION_ERROR")
    assert [f["field"] for f in payload["fields"]] == ["seed_usernames"]
    assert await events_count(pool) == 0

    resp = await api.post("/api/crawler/runs", headers=ADMIN)
    payload = await resp.json()
    assert resp.status == 202, payload
    assert payload["data"]["seed_usernames"] == [] and payload["data"]["target_profiles"] == 50


async def test_a_crawl_run_retried_with_its_idempotency_key_is_started_once(
    api: TestClient, address: tuple[str, int], pool: asyncpg.Pool
) -> None:
    first = await api.post(
        "/api/crawler/runs", json={"max_rounds": 2}, headers={**ADMIN, "Idempotency-Key": "k-1"}
    )
    again = await api.post(
        "/api/crawler/runs", json={"max_rounds": 2}, headers={**ADMIN, "Idempotency-Key": "k-1"}
    )
    assert first.status == again.status == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert (await first.json())["data"]["run_id"] == (await again.json())["data"]["run_id"]
    other = await api.post(
        "/api/crawler/runs", json={"max_rounds": 3}, headers={**ADMIN, "Idempotency-Key": "k-1"}
    )
    assert other.status == 422 and (await other.json())["error_code"] == "IDEMPOTENCY_KEY_REUSED"

    request = raw_request(
        "POST", "/api/crawler/runs", b"Authorization: Bearer test-admin-token", b"Idempotency-Key: "
    )
    response = await exchange(address, request)
    assert response.status == 400, response
    assert_error_envelope(response.json(), "INVALID_IDEMPOTENCY_KEY")
    assert await events_count(pool) == 1


async def test_body_numbers_are_json_numbers_and_nothing_else(api: TestClient) -> None:
    resp = await api.post("/api/crawler/runs", json={"target_profiles": 10.0}, headers=ADMIN)
    payload = await resp.json()
    assert resp.status == 202 and payload["data"]["target_profiles"] == 10, payload
    resp = await api.post("/api/viral-ideas/queue", json=job(priority="5"))
    payload = await resp.json()
    assert resp.status == 422 and [f["field"] for f in payload["fields"]] == ["priority"], payload
