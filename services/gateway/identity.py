"""Who is calling: nobody (no Authorization header), the administrator (ADMIN_TOKEN) or a user, whose
id is the `sub` of a JWT from the identity provider: HS256 signed with AUTH_JWT_SECRET, or RS256/ES256
with a key the provider publishes at AUTH_JWKS_URL (jwks.py).

Views ask `await caller(request)` (anonymous allowed) or `await require_user(request)`; a token that is
sent must be valid either way (401 INVALID_TOKEN or TOKEN_EXPIRED), never silently ignored.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import jwt
import structlog
from aiohttp import hdrs, web

from services.gateway import keys
from services.gateway.auth import admin_token_matches
from services.gateway.errors import ApiError
from services.gateway.jwks import JwksFetcher, JwksKeys, KeysUnavailable
from services.gateway.settings import GatewaySettings
from services.gateway.validation import has_control_character

log = structlog.get_logger(__name__)

MAX_USER_ID = 255
MAX_KID = 255
# JWS compact serialisation (base64url parts); also keeps what was not ASCII on the wire away from PyJWT.
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]{1,4096}\.[A-Za-z0-9_-]{1,8192}\.[A-Za-z0-9_-]{0,2048}")
# Tokens accepted before are answered from memory: a client polling with one token pays one check.
ACCEPTED_TOKENS = 4096

_REASONS: list[tuple[type[jwt.PyJWTError], str]] = [
    (jwt.InvalidSignatureError, "The token's signature does not verify."),
    (jwt.InvalidAudienceError, "The token is meant for another audience (aud)."),
    (jwt.InvalidIssuerError, "The token is from another issuer (iss)."),
    (jwt.ImmatureSignatureError, "The token is not valid yet (nbf or iat)."),
    (
        jwt.MissingRequiredClaimError,
        "The token lacks a required claim (exp, sub, or the configured iss/aud).",
    ),
    (jwt.InvalidAlgorithmError, "The token's algorithm does not match its key."),
    (jwt.exceptions.InvalidSubjectError, "The token's subject (sub) is not a string."),
]


@dataclass(frozen=True, slots=True)
class Caller:
    """user_id is the token's `sub`; the admin token gives an administrator without a user id."""

    user_id: str | None
    admin: bool = False

    @property
    def anonymous(self) -> bool:
        return self.user_id is None and not self.admin


ANONYMOUS = Caller(None)
ADMINISTRATOR = Caller(None, admin=True)
CALLER = web.RequestKey("caller", Caller)


def unauthorized(detail: str = "This endpoint needs a signed-in user.") -> ApiError:
    return ApiError(
        401,
        "UNAUTHORIZED",
        detail,
        troubleshooting="Send 'Authorization: Bearer <token>' with a token from the identity provider.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def invalid_token(detail: str) -> ApiError:
    return ApiError(
        401,
        "INVALID_TOKEN",
        detail,
        troubleshooting="Sign in again for a new token.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def token_expired() -> ApiError:
    return ApiError(
        401,
        "TOKEN_EXPIRED",
        "The token has expired.",
        troubleshooting="Refresh the token with the identity provider, or sign in again.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token", error_description="The token expired"'},
    )


class TokenVerifier:
    """The configured keys and claim rules; the algorithms come from the configuration, never from the
    token: HS256 only with a secret, the JWKS algorithms only with a JWKS, and never `none`."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks: JwksKeys | None = None,
        jwks_algorithms: Collection[str] = (),
        issuer: str | None = None,
        audience: str | None = None,
        leeway_s: float = 30.0,
        jwks_ttl_s: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._jwks = jwks
        self._algorithms = frozenset(
            (["HS256"] if secret else []) + ([a for a in jwks_algorithms if a != "HS256"] if jwks else [])
        )
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s
        self._jwks_ttl_s = jwks_ttl_s
        self._clock = clock
        required = ["exp", "sub"] + (["iss"] if issuer else []) + (["aud"] if audience else [])
        # Without a configured audience the claim is not judged: Supabase puts aud=authenticated in all.
        self._options: Any = {"require": required, "verify_aud": audience is not None}
        self._accepted: dict[str, tuple[str, float]] = {}

    @classmethod
    def from_settings(cls, settings: GatewaySettings, jwks: JwksKeys | None) -> TokenVerifier:
        secret = settings.auth_jwt_secret
        return cls(
            secret=secret.get_secret_value() if secret is not None else None,
            jwks=jwks,
            jwks_algorithms=settings.auth_jwks_algorithms,
            issuer=settings.auth_jwt_issuer,
            audience=settings.auth_jwt_audience,
            leeway_s=settings.auth_jwt_leeway_s,
            jwks_ttl_s=settings.auth_jwks_ttl_s,
        )

    @property
    def algorithms(self) -> frozenset[str]:
        return self._algorithms

    async def user_id(self, token: str) -> str:
        """The token's `sub`, or the 401 (503 when the provider's keys cannot be had) saying why not."""
        now = self._clock()
        accepted = self._accepted.get(token)
        if accepted is not None:
            if now < accepted[1]:
                return accepted[0]
            del self._accepted[token]
        user, until = await self._verify(token, now)
        if len(self._accepted) >= ACCEPTED_TOKENS:
            del self._accepted[next(iter(self._accepted))]  # the oldest
        self._accepted[token] = (user, until)
        return user

    async def _verify(self, token: str, now: float) -> tuple[str, float]:
        if not self._algorithms:
            raise invalid_token(
                "This gateway accepts no user tokens (neither AUTH_JWT_SECRET nor AUTH_JWKS_URL)."
            )
        if not COMPACT_JWS.fullmatch(token):
            raise invalid_token("The bearer token is not a JWT.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise invalid_token("The bearer token is not a JWT.") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in self._algorithms:
            raise invalid_token("The token's algorithm (alg) is not one this gateway accepts.")
        if kid is not None and (not isinstance(kid, str) or len(kid) > MAX_KID):
            raise invalid_token("The token's key id (kid) is not valid.")
        key: str | jwt.PyJWK
        if algorithm == "HS256":
            assert self._secret is not None
            key, lifetime = self._secret, math.inf
        else:
            key, lifetime = await self._published_key(kid, algorithm), self._jwks_ttl_s
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                options=self._options,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway_s,
            )
        except jwt.ExpiredSignatureError:
            raise token_expired() from None
        except jwt.PyJWTError as exc:
            reason = next(
                (text for kind, text in _REASONS if isinstance(exc, kind)), "The token is not valid."
            )
            raise invalid_token(reason) from None
        user = claims["sub"]
        if not 1 <= len(user) <= MAX_USER_ID or has_control_character(user):
            raise invalid_token(f"The token's subject (sub) must be 1-{MAX_USER_ID} characters of text.")
        # Remembered until it expires; a key-set token no longer than the key set is, so a key the
        # provider withdrew stops being honoured within the JWKS TTL.
        return user, min(int(claims["exp"]) + self._leeway_s, now + lifetime)

    async def _published_key(self, kid: str | None, algorithm: str) -> jwt.PyJWK:
        assert self._jwks is not None
        try:
            key = await self._jwks.key(kid, algorithm)
        except KeysUnavailable:
            raise ApiError(
                503,
                "SERVICE_UNAVAILABLE",
                "The identity provider's keys cannot be fetched right now, so the token cannot be checked.",
                troubleshooting="Retry after a few seconds.",
                headers={"Retry-After": "5"},
            ) from None
        if key is None:
            raise invalid_token("The token names a key (kid) the identity provider does not publish.")
        return key


VERIFIER = web.AppKey("token_verifier", TokenVerifier)


def attach(app: web.Application) -> None:
    settings = app[keys.SETTINGS]
    jwks = None
    if settings.auth_jwks_url is not None:
        fetch = JwksFetcher(settings.auth_jwks_url, settings.auth_jwks_timeout_s)
        jwks = JwksKeys(
            fetch,
            settings.auth_jwks_algorithms,
            ttl_s=settings.auth_jwks_ttl_s,
            min_refetch_s=settings.auth_jwks_min_refetch_s,
        )

        async def close(_app: web.Application) -> None:
            await fetch.close()

        app.on_cleanup.append(close)
    app[VERIFIER] = TokenVerifier.from_settings(settings, jwks)
    if settings.auth_dev_login and settings.auth_jwt_secret is None:
        log.warning("gateway.dev_login_off", reason="AUTH_DEV_LOGIN needs AUTH_JWT_SECRET")


async def caller(request: web.Request, *, query_token: bool = False) -> Caller:
    """The caller, verified once per request; anonymous without an Authorization header.

    query_token: the token may also come as `access_token` in the query (RFC 6750 2.3), for the live
    stream only: a browser's EventSource cannot send headers. Access logs keep the path, not the query."""
    known = request.get(CALLER)
    if known is not None:
        return known
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is None:
        token = request.query.get("access_token") if query_token else None
        found = ANONYMOUS if token is None else await _judge(request, token.strip())
    else:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("The Authorization header must be 'Bearer <token>'.")
        found = await _judge(request, token.strip())
    request[CALLER] = found
    return found


async def _judge(request: web.Request, token: str) -> Caller:
    if not token:
        raise unauthorized("The access token is empty.")
    if admin_token_matches(request.app[keys.SETTINGS], token):
        return ADMINISTRATOR
    return Caller(await request.app[VERIFIER].user_id(token))


def may_see(who: Caller, owner_id: str | None) -> bool:
    """A job with an owner is its owner's and the administrators'; an anonymous job (no owner) is whoever
    holds its ids'. Anyone else is told it does not exist (404, not 403, which would confirm it does)."""
    return owner_id is None or who.admin or who.user_id == owner_id


async def require_user(request: web.Request) -> Caller:
    """A signed-in user or the administrator (whose user_id is None); anonymous callers get 401."""
    found = await caller(request)
    if found.anonymous:
        raise unauthorized()
    return found
