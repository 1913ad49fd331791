"""Identity at the gateway over real HTTP: HS256 tokens signed here, RS256 and ES256 tokens whose keys a
local server publishes as a JWKS (and rotates), the admin token, the development sign-in.

The rules are those of identity.py itself, so the gateway under test gets two routes of the test's own:
/test/caller (identity.caller) and /test/user (identity.require_user); test_ownership.py checks them on
the product's endpoints."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from libs.events import Topology
from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.gateway.identity import caller, require_user
from services.gateway.responses import ok
from services.gateway.settings import GatewaySettings
from tests.conftest import make_settings
from tests.support import infra
from tests.support.tokens import (
    AUDIENCE,
    ISSUER,
    SECRET,
    JwksServer,
    claims,
    ec_key,
    hmac_signed_with,
    hs256,
    rsa_key,
    unsigned,
)

ADMIN_TOKEN = "test-admin-token"
RSA = rsa_key("rsa-2026-01")
EC = ec_key("ec-2026-01")

StartGateway = Callable[..., Awaitable[TestClient]]


async def who(request: web.Request) -> web.Response:
    found = await caller(request)
    return ok({"user_id": found.user_id, "admin": found.admin})


async def user(request: web.Request) -> web.Response:
    found = await require_user(request)
    return ok({"user_id": found.user_id, "admin": found.admin})


@pytest.fixture
def start_gateway(
    gateway_runtime: ServiceRuntime, database_url: str, amqp_url: str, topology: Topology, aiohttp_client: Any
) -> StartGateway:
    async def start(**settings: Any) -> TestClient:
        config = make_settings(
            GatewaySettings, database_url, amqp_url, topology, admin_token=ADMIN_TOKEN, **settings
        )
        app = create_app(gateway_runtime, config)
        app.router.add_get("/test/caller", who)
        app.router.add_get("/test/user", user)
        client: TestClient = await aiohttp_client(app)
        return client

    return start


@pytest.fixture
async def provider() -> AsyncIterator[JwksServer]:
    server = await JwksServer(keys=[RSA, EC]).start()
    yield server
    await server.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def answer(api: TestClient, path: str, token: str | None) -> tuple[int, dict[str, Any], Any]:
    resp = await api.get(path, headers=bearer(token) if token is not None else None)
    return resp.status, dict(resp.headers), await resp.json()


def assert_refused(status: int, headers: dict[str, Any], body: Any, error_code: str, case: str = "") -> None:
    assert status == 401 and body["success"] is False and body["error_code"] == error_code, (case, body)
    assert body["detail"] and body["timestamp"].endswith("Z"), (case, body)
    expected = "Bearer" if error_code == "UNAUTHORIZED" else 'Bearer error="invalid_token"'
    assert headers["WWW-Authenticate"].startswith(expected), (case, headers)


async def test_without_a_token_the_caller_is_anonymous_and_a_user_is_required(
    start_gateway: StartGateway,
) -> None:
    api = await start_gateway(auth_jwt_secret=SECRET)
    status, _, body = await answer(api, "/test/caller", None)
    assert status == 200 and body["data"] == {"user_id": None, "admin": False}
    assert_refused(*await answer(api, "/test/user", None), "UNAUTHORIZED")
    resp = await api.get("/test/caller", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_refused(resp.status, dict(resp.headers), await resp.json(), "UNAUTHORIZED")


async def test_an_hs256_token_signs_in_its_subject(start_gateway: StartGateway) -> None:
    api = await start_gateway(auth_jwt_secret=SECRET, auth_jwt_issuer=ISSUER, auth_jwt_audience=AUDIENCE)
    token = hs256(claims("creator-42", iss=ISSUER, aud=AUDIENCE))
    for path in ("/test/caller", "/test/user"):
        status, _, body = await answer(api, path, token)
        assert status == 200 and body["data"] == {"user_id": "creator-42", "admin": False}, body


async def test_each_bad_token_is_refused_with_its_reason(start_gateway: StartGateway) -> None:
    api = await start_gateway(auth_jwt_secret=SECRET, auth_jwt_issuer=ISSUER, auth_jwt_audience=AUDIENCE)
    ours: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE}
    now = int(time.time())
    cases = {
        "expired": (hs256(claims(lifetime_s=-300, **ours)), "TOKEN_EXPIRED"),
        "not yet valid": (hs256(claims(nbf=now + 600, **ours)), "INVALID_TOKEN"),
        "wrong audience": (hs256(claims(iss=ISSUER, aud="someone-else")), "INVALID_TOKEN"),
        "wrong issuer": (hs256(claims(iss="https://evil.test/", aud=AUDIENCE)), "INVALID_TOKEN"),
        "bad signature": (hs256(claims(**ours), secret=SECRET + "-not-ours"), "INVALID_TOKEN"),
        "alg none": (unsigned(claims(**ours)), "INVALID_TOKEN"),
        "malformed": ("this-is.not-a.jwt!", "INVALID_TOKEN"),
        "missing exp": (hs256({"sub": "user-1", "iat": now, **ours}), "INVALID_TOKEN"),
        "rs256 without a jwks": (RSA.sign(claims(**ours)), "INVALID_TOKEN"),
    }
    for case, (token, error_code) in cases.items():
        for path in ("/test/caller", "/test/user"):
            assert_refused(*await answer(api, path, token), error_code, case)


@pytest.mark.parametrize("key", [RSA, EC], ids=["RS256", "ES256"])
async def test_a_token_signed_with_a_published_key_signs_in_its_subject(
    start_gateway: StartGateway, provider: JwksServer, key: Any
) -> None:
    api = await start_gateway(auth_jwks_url=provider.url, auth_jwt_audience=AUDIENCE)
    status, _, body = await answer(api, "/test/user", key.sign(claims("creator-7", aud=AUDIENCE)))
    assert status == 200 and body["data"]["user_id"] == "creator-7", body
    expired = key.sign(claims("creator-7", lifetime_s=-300, aud=AUDIENCE))
    assert_refused(*await answer(api, "/test/user", expired), "TOKEN_EXPIRED")
    assert_refused(*await answer(api, "/test/user", key.sign(claims(aud="other"))), "INVALID_TOKEN")


async def test_hs256_is_refused_when_only_a_jwks_is_configured(
    start_gateway: StartGateway, provider: JwksServer
) -> None:
    api = await start_gateway(auth_jwks_url=provider.url)
    # The public key, which anyone may read, used as an HMAC secret: the classic algorithm confusion.
    confused = hmac_signed_with(RSA.public_pem(), claims(), kid=RSA.kid)
    assert_refused(*await answer(api, "/test/user", confused), "INVALID_TOKEN", "public key as secret")
    assert_refused(*await answer(api, "/test/user", hs256(claims())), "INVALID_TOKEN", "any secret")
    assert_refused(*await answer(api, "/test/user", unsigned(claims(), kid=RSA.kid)), "INVALID_TOKEN")


async def test_a_rotated_key_is_picked_up_without_a_restart(
    start_gateway: StartGateway, provider: JwksServer
) -> None:
    api = await start_gateway(auth_jwks_url=provider.url, auth_jwks_min_refetch_s=0.5)
    status, _, _ = await answer(api, "/test/user", RSA.sign(claims("before")))
    assert status == 200 and provider.fetches == 1
    rotated = rsa_key("rsa-2026-02")
    provider.keys = [rotated, EC]
    token = rotated.sign(claims("after"))

    async def accepted() -> bool:
        status, _, body = await answer(api, "/test/user", token)
        return status == 200 and body["data"]["user_id"] == "after"

    await infra.eventually(accepted, timeout_s=10, message="the rotated key accepted")
    assert provider.fetches == 2
    # A token of a key no longer published is refused once it is not remembered from before.
    assert_refused(*await answer(api, "/test/user", RSA.sign(claims("stale"))), "INVALID_TOKEN")


async def test_tokens_naming_unknown_keys_do_not_hammer_the_provider(
    start_gateway: StartGateway, provider: JwksServer
) -> None:
    api = await start_gateway(auth_jwks_url=provider.url, auth_jwks_min_refetch_s=30)
    forged = [rsa_key(f"forged-{i}") for i in range(3)]
    tokens = [forged[i % 3].sign(claims(), kid=f"garbage-{i}") for i in range(60)]
    answers = await asyncio.gather(*(answer(api, "/test/user", token) for token in tokens))
    for status, headers, body in answers:
        assert_refused(status, headers, body, "INVALID_TOKEN")
    assert "kid" in answers[0][2]["detail"]
    assert provider.fetches == 1  # the first lookup fetched; the unknown kids waited for the interval
    status, _, _ = await answer(api, "/test/user", EC.sign(claims()))
    assert status == 200 and provider.fetches == 1


async def test_a_provider_that_gives_no_keys_is_a_503_not_a_401(
    start_gateway: StartGateway, provider: JwksServer
) -> None:
    unreachable = await start_gateway(auth_jwks_url=f"http://127.0.0.1:{infra.free_port()}/jwks.json")
    resp = await unreachable.get("/test/user", headers=bearer(RSA.sign(claims())))
    body = await resp.json()
    assert resp.status == 503 and body["error_code"] == "SERVICE_UNAVAILABLE", body
    assert resp.headers["Retry-After"]

    provider.body = b'{"keys": [' + b" " * (300 * 1024) + b"]}"
    oversized = await start_gateway(auth_jwks_url=provider.url)
    resp = await oversized.get("/test/user", headers=bearer(RSA.sign(claims())))
    assert resp.status == 503, await resp.text()
    assert provider.fetches == 1


async def test_the_admin_token_acts_as_an_administrator(start_gateway: StartGateway) -> None:
    api = await start_gateway(auth_jwt_secret=SECRET)
    for path in ("/test/caller", "/test/user"):
        status, _, body = await answer(api, path, ADMIN_TOKEN)
        assert status == 200 and body["data"] == {"user_id": None, "admin": True}, body
    resp = await api.post("/api/viral-ideas/process-pending", headers=bearer(ADMIN_TOKEN))
    assert resp.status == 200, await resp.text()
    assert_refused(*await answer(api, "/test/caller", ADMIN_TOKEN + "x"), "INVALID_TOKEN")


async def test_a_dev_token_signs_in_as_the_user_it_names(start_gateway: StartGateway) -> None:
    api = await start_gateway(
        auth_dev_login=True,
        auth_jwt_secret=SECRET,
        auth_jwt_issuer=ISSUER,
        auth_jwt_audience=AUDIENCE,
        auth_dev_token_ttl_s=900,
    )
    resp = await api.post("/api/auth/dev-token", json={"user": "maya"})
    body = await resp.json()
    assert resp.status == 200 and body["success"] is True, body
    assert body["data"]["expires_in"] == 900 and resp.headers["Cache-Control"] == "no-store"
    token = body["data"]["token"]
    issued = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    assert issued["sub"] == "maya" and issued["exp"] - issued["iat"] == 900
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    status, _, who_body = await answer(api, "/test/user", token)
    assert status == 200 and who_body["data"] == {"user_id": "maya", "admin": False}


@pytest.mark.parametrize(
    "settings",
    [{}, {"auth_dev_login": True}, {"auth_jwt_secret": SECRET}],
    ids=["default", "no-secret", "not-enabled"],
)
async def test_the_dev_token_endpoint_is_an_unknown_route_unless_enabled(
    start_gateway: StartGateway, settings: dict[str, Any]
) -> None:
    api = await start_gateway(**settings)
    resp = await api.post("/api/auth/dev-token", json={"user": "maya"})
    body = await resp.json()
    unknown = await (await api.post("/api/auth/no-such-route", json={"user": "maya"})).json()
    assert resp.status == 404 and body["error_code"] == unknown["error_code"] == "NOT_FOUND", body
    assert body["detail"] == unknown["detail"]


async def test_a_dev_token_request_is_validated_strictly(start_gateway: StartGateway) -> None:
    api = await start_gateway(auth_dev_login=True, auth_jwt_secret=SECRET)
    for body in (
        {},
        {"user": ""},
        {"user": "x" * 65},
        {"user": "tab\there"},
        {"user": "nul\u0000"},
        {"user": 42},
        {"user": "maya", "admin": True},
    ):
        resp = await api.post("/api/auth/dev-token", json=body)
        payload = await resp.json()
        assert resp.status == 422 and payload["error_code"] == "VALIDATION_ERROR", (body, payload)
    resp = await api.post(
        "/api/auth/dev-token", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400 and (await resp.json())["error_code"] == "INVALID_JSON"
    assert (await api.post("/api/auth/dev-token", json={"user": "x" * 64})).status == 200
