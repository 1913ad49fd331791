"""Token verification (services/gateway/identity.py) and the key set's fetch rules (jwks.py), without a
network: real tokens signed here, a key set fed from memory, a clock the test moves."""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from services.gateway import keys
from services.gateway.errors import ApiError
from services.gateway.identity import (
    ADMINISTRATOR,
    ANONYMOUS,
    VERIFIER,
    Caller,
    TokenVerifier,
    caller,
    require_user,
)
from services.gateway.jwks import JwksError, JwksKeys, KeysUnavailable, usable_keys
from services.gateway.settings import GatewaySettings
from tests.support import infra
from tests.support.tokens import (
    AUDIENCE,
    ISSUER,
    SECRET,
    SUITE_S,
    SigningKey,
    claims,
    ec_key,
    hmac_signed_with,
    hs256,
    jwks,
    rsa_key,
    unsigned,
)

RSA = rsa_key("rsa-1")
EC = ec_key("ec-1")


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class KeySource:
    """What the provider publishes right now, and how often it was asked."""

    def __init__(self, *published: SigningKey) -> None:
        self.body: bytes | Exception = jwks(*published)
        self.fetches = 0

    async def __call__(self) -> bytes:
        self.fetches += 1
        if isinstance(self.body, Exception):
            raise self.body
        return self.body


def key_set(source: KeySource, clock: Clock, ttl_s: float = 300, min_refetch_s: float = 30) -> JwksKeys:
    return JwksKeys(source, ["RS256", "ES256"], ttl_s=ttl_s, min_refetch_s=min_refetch_s, clock=clock)


async def rejection(verifier: TokenVerifier, token: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await verifier.user_id(token)
    return caught.value


async def test_an_hs256_token_gives_its_subject() -> None:
    verifier = TokenVerifier(secret=SECRET, issuer=ISSUER, audience=AUDIENCE)
    token = hs256(claims("creator-42", iss=ISSUER, aud=AUDIENCE))
    assert await verifier.user_id(token) == "creator-42"


@pytest.mark.parametrize(
    ("payload", "error_code"),
    [
        (claims(lifetime_s=-120), "TOKEN_EXPIRED"),
        (claims(nbf=int(time.time()) + SUITE_S), "INVALID_TOKEN"),
        (claims(iat=int(time.time()) + SUITE_S), "INVALID_TOKEN"),
        (claims(aud="another-api"), "INVALID_TOKEN"),
        (claims(aud=None), "INVALID_TOKEN"),
        (claims(iss="https://evil.test/"), "INVALID_TOKEN"),
        ({k: v for k, v in claims().items() if k != "exp"}, "INVALID_TOKEN"),
        ({k: v for k, v in claims().items() if k != "sub"}, "INVALID_TOKEN"),
        (claims(sub=""), "INVALID_TOKEN"),
        (claims(sub="x" * 256), "INVALID_TOKEN"),
        (claims(sub="line\nbreak"), "INVALID_TOKEN"),
        (claims(sub=42), "INVALID_TOKEN"),
        (claims(exp="soon"), "INVALID_TOKEN"),
    ],
    ids=[
        "expired",
        "not-before-in-the-future",
        "issued-in-the-future",
        "wrong-audience",
        "no-audience",
        "wrong-issuer",
        "no-exp",
        "no-sub",
        "empty-sub",
        "long-sub",
        "control-character-in-sub",
        "sub-not-a-string",
        "exp-not-a-number",
    ],
)
async def test_a_token_whose_claims_fail_is_refused(payload: dict[str, Any], error_code: str) -> None:
    verifier = TokenVerifier(secret=SECRET, issuer=ISSUER, audience=AUDIENCE)
    payload = {"iss": ISSUER, "aud": AUDIENCE, **payload}
    error = await rejection(verifier, hs256({k: v for k, v in payload.items() if v is not None}))
    assert (error.status, error.error_code) == (401, error_code)
    assert error.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


async def test_the_leeway_forgives_a_small_clock_difference() -> None:
    verifier = TokenVerifier(secret=SECRET, leeway_s=30)
    assert await verifier.user_id(hs256(claims(lifetime_s=-10, nbf=int(time.time()) + 10))) == "user-1"
    strict = TokenVerifier(secret=SECRET, leeway_s=0)
    assert (await rejection(strict, hs256(claims(lifetime_s=-10)))).error_code == "TOKEN_EXPIRED"


async def test_issuer_and_audience_are_judged_only_when_configured() -> None:
    # Supabase puts aud=authenticated into every token: a gateway without AUTH_JWT_AUDIENCE takes it.
    verifier = TokenVerifier(secret=SECRET)
    assert await verifier.user_id(hs256(claims(aud="authenticated", iss="anyone"))) == "user-1"


@pytest.mark.parametrize(
    "token",
    [
        hs256(claims(), secret=SECRET + "-other"),
        unsigned(claims()),
        "not-a-jwt",
        "a.b",
        "a.b.c.d",
        "ey\u00e9.ey.sig",
        "\udcff\udcfe.x.y",
        "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
        "bm90IGpzb24.eyJzdWIiOiJ4In0.c2ln",
        hmac_signed_with(SECRET.encode(), claims(), kid=["not", "a", "string"]),
        hs256(claims(), kid="k" * 300),
        RSA.sign(claims()),
    ],
    ids=[
        "bad-signature",
        "alg-none",
        "one-segment",
        "two-segments",
        "four-segments",
        "not-ascii",
        "undecodable-bytes",
        "claims-not-json",
        "header-not-json",
        "kid-not-a-string",
        "kid-too-long",
        "rs256-without-a-jwks",
    ],
)
async def test_a_token_that_is_not_one_of_ours_is_invalid(token: str) -> None:
    error = await rejection(TokenVerifier(secret=SECRET), token)
    assert (error.status, error.error_code) == (401, "INVALID_TOKEN"), error.detail
    assert error.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}


async def test_with_no_secret_and_no_jwks_every_token_is_invalid() -> None:
    error = await rejection(TokenVerifier(), hs256(claims()))
    assert error.error_code == "INVALID_TOKEN" and "AUTH_JWT_SECRET" in error.detail


@pytest.mark.parametrize("key", [RSA, EC], ids=["RS256", "ES256"])
async def test_a_token_signed_with_a_published_key_gives_its_subject(key: SigningKey) -> None:
    verifier = TokenVerifier(jwks=key_set(KeySource(RSA, EC), Clock()), jwks_algorithms=["RS256", "ES256"])
    assert await verifier.user_id(key.sign(claims("creator-7"))) == "creator-7"


async def test_hs256_is_refused_when_only_a_jwks_is_configured() -> None:
    verifier = TokenVerifier(jwks=key_set(KeySource(RSA), Clock()), jwks_algorithms=["RS256"])
    # The classic confusion: the public key (which anyone can read) used as an HMAC secret.
    confused = hmac_signed_with(RSA.public_pem(), claims(), kid=RSA.kid)
    assert (await rejection(verifier, confused)).error_code == "INVALID_TOKEN"
    assert (await rejection(verifier, hs256(claims()))).error_code == "INVALID_TOKEN"


async def test_a_token_whose_alg_differs_from_its_key_is_refused() -> None:
    verifier = TokenVerifier(jwks=key_set(KeySource(RSA, EC), Clock()), jwks_algorithms=["RS256", "ES256"])
    # Signed with the EC key but naming the RSA key's kid: the key decides the algorithm.
    mislabelled = EC.sign(claims(), kid=RSA.kid)
    assert (await rejection(verifier, mislabelled)).error_code == "INVALID_TOKEN"


async def test_an_accepted_token_is_remembered_only_until_it_expires() -> None:
    verifier = TokenVerifier(secret=SECRET, leeway_s=0)
    token = hs256({"sub": "user-1", "exp": int(time.time()) + 1})
    assert await verifier.user_id(token) == "user-1"

    async def expired() -> bool:
        try:
            await verifier.user_id(token)
        except ApiError as error:
            return error.error_code == "TOKEN_EXPIRED"
        return False

    await infra.eventually(expired, timeout_s=5, message="the remembered token expired with its exp")


async def test_a_jwks_token_is_remembered_no_longer_than_the_key_set() -> None:
    clock, source = Clock(), KeySource(RSA)
    keys_ = key_set(source, clock, ttl_s=300, min_refetch_s=0)
    verifier = TokenVerifier(jwks=keys_, jwks_algorithms=["RS256"], jwks_ttl_s=300, clock=clock)
    token = RSA.sign(claims(lifetime_s=3600))
    assert await verifier.user_id(token) == "user-1"
    source.body = jwks(EC)  # the provider withdrew the RSA key
    clock.now += 299
    assert await verifier.user_id(token) == "user-1"
    clock.now += 2
    assert (await rejection(verifier, token)).error_code == "INVALID_TOKEN"


async def test_keys_are_fetched_once_per_ttl() -> None:
    clock, source = Clock(), KeySource(RSA, EC)
    keys_ = key_set(source, clock, ttl_s=300)
    for _ in range(5):
        assert await keys_.key(RSA.kid, "RS256") is not None
        assert await keys_.key(EC.kid, "ES256") is not None
    assert source.fetches == 1
    clock.now += 301
    assert await keys_.key(RSA.kid, "RS256") is not None
    assert source.fetches == 2


async def test_an_unknown_kid_refetches_at_most_once_per_interval() -> None:
    clock, source = Clock(), KeySource(RSA)
    keys_ = key_set(source, clock, ttl_s=300, min_refetch_s=30)
    assert await keys_.key(RSA.kid, "RS256") is not None
    source.body = jwks(RSA, EC)  # rotated in: a new key
    for index in range(50):
        assert await keys_.key(f"made-up-{index}", "RS256") is None
    assert source.fetches == 1  # the first fetch was under 30 s ago
    clock.now += 30
    assert await keys_.key(EC.kid, "ES256") is not None
    assert await keys_.key("made-up", "RS256") is None
    assert source.fetches == 2


async def test_a_failed_fetch_keeps_the_keys_held_and_is_not_retried_at_once() -> None:
    clock, source = Clock(), KeySource(RSA)
    keys_ = key_set(source, clock, ttl_s=10, min_refetch_s=5)
    assert await keys_.key(RSA.kid, "RS256") is not None
    source.body = JwksError("the JWKS answered HTTP 502")
    clock.now += 11
    assert await keys_.key(RSA.kid, "RS256") is not None  # stale, but the provider is down
    assert await keys_.key(RSA.kid, "RS256") is not None
    assert source.fetches == 2


async def test_without_any_keys_tokens_cannot_be_judged() -> None:
    clock, source = Clock(), KeySource()
    source.body = TimeoutError()
    keys_ = key_set(source, clock, min_refetch_s=5)
    with pytest.raises(KeysUnavailable):
        await keys_.key(RSA.kid, "RS256")
    with pytest.raises(KeysUnavailable):
        await keys_.key(RSA.kid, "RS256")
    assert source.fetches == 1
    verifier = TokenVerifier(jwks=keys_, jwks_algorithms=["RS256"])
    error = await rejection(verifier, RSA.sign(claims()))
    assert (error.status, error.error_code) == (503, "SERVICE_UNAVAILABLE") and error.headers["Retry-After"]


def test_only_signing_keys_for_the_configured_algorithms_are_kept() -> None:
    extra: list[Any] = [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {**EC.public_jwk(), "kid": "enc", "use": "enc"},
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        {"kty": "what", "kid": "unknown"},
        {**RSA.public_jwk(), "kid": 7},
        "not an object",
    ]
    kept = usable_keys(jwks(RSA, EC, extra=extra), frozenset({"RS256"}))
    assert set(kept) == {(RSA.kid, "RS256")}


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"keys": {}}', b'{"keys": []}', jwks(extra=[{"kty": "oct", "k": "c2Vj"}])]
)
def test_a_document_without_usable_keys_is_not_a_key_set(body: bytes) -> None:
    with pytest.raises(JwksError):
        usable_keys(body, frozenset({"RS256", "ES256"}))


async def test_a_token_without_a_kid_is_judged_by_the_only_key() -> None:
    only = key_set(KeySource(RSA), Clock())
    assert await only.key(None, "RS256") is not None
    two = key_set(KeySource(RSA, rsa_key("rsa-2")), Clock())
    assert await two.key(None, "RS256") is None


def request_with(app: web.Application, authorization: str | None) -> web.Request:
    headers = {} if authorization is None else {"Authorization": authorization}
    return make_mocked_request("GET", "/", headers=headers, app=app)


@pytest.fixture
def app() -> web.Application:
    application = web.Application()
    application[keys.SETTINGS] = GatewaySettings(admin_token="unit-admin-token", auth_jwt_secret=SECRET)
    application[VERIFIER] = TokenVerifier.from_settings(application[keys.SETTINGS], None)
    return application


async def test_the_caller_is_anonymous_an_administrator_or_a_user(app: web.Application) -> None:
    assert await caller(request_with(app, None)) == ANONYMOUS
    assert await caller(request_with(app, "Bearer unit-admin-token")) == ADMINISTRATOR
    assert await caller(request_with(app, f"bearer {hs256(claims('maya'))}")) == Caller("maya")
    assert ANONYMOUS.anonymous and not ADMINISTRATOR.anonymous and not Caller("maya").anonymous


@pytest.mark.parametrize("authorization", ["", "Bearer", "Bearer   ", "Basic dXNlcjpwdw==", "Token abc"])
async def test_an_authorization_that_is_not_a_bearer_token_is_unauthorized(
    app: web.Application, authorization: str
) -> None:
    with pytest.raises(ApiError) as caught:
        await caller(request_with(app, authorization))
    assert (caught.value.status, caught.value.error_code) == (401, "UNAUTHORIZED")
    assert caught.value.headers == {"WWW-Authenticate": "Bearer"}


async def test_require_user_refuses_anonymous_callers_only(app: web.Application) -> None:
    with pytest.raises(ApiError) as caught:
        await require_user(request_with(app, None))
    assert caught.value.error_code == "UNAUTHORIZED"
    assert await require_user(request_with(app, "Bearer unit-admin-token")) == ADMINISTRATOR
    assert await require_user(request_with(app, f"Bearer {hs256(claims('maya'))}")) == Caller("maya")


async def test_the_caller_is_verified_once_per_request(app: web.Application) -> None:
    request = request_with(app, f"Bearer {hs256(claims('maya'))}")
    first = await caller(request)
    # Whatever the verifier would say now, the request keeps the caller it was verified as.
    app[VERIFIER] = TokenVerifier()
    assert await caller(request) is first
    assert await require_user(request) is first


def test_settings_read_comma_separated_origins_and_refuse_a_short_secret() -> None:
    settings = GatewaySettings(
        cors_origins="https://App.example.com/, http://127.0.0.1:3000", auth_jwks_algorithms="ES256"
    )
    assert settings.cors_origins == ["https://app.example.com", "http://127.0.0.1:3000"]
    assert settings.auth_jwks_algorithms == ["ES256"]
    assert GatewaySettings(auth_jwt_secret="", auth_jwks_url="").auth_jwt_secret is None
    for bad in ({"auth_jwt_secret": "short"}, {"cors_origins": "*"}, {"cors_origins": "https://a.test/path"}):
        with pytest.raises(ValueError) as caught:
            GatewaySettings(**bad)
        assert "short" not in str(caught.value).replace("at least", "")
    with pytest.raises(ValueError):
        GatewaySettings(auth_jwks_algorithms="HS256")
