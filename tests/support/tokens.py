"""Tokens as an identity provider issues them: HS256 with a shared secret, RS256 and ES256 with keys made
here and published as a JWKS by a local HTTP server (127.0.0.1, a free port)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

SECRET = "test-jwt-secret-that-is-long-enough-for-hs256"
ISSUER = "https://id.viralspot.test/"
AUDIENCE = "viralspot-api"


# Tokens are made when the tests are collected (module constants, parameters), and a whole suite on a
# slow machine runs well past ten minutes: they stay valid (or in the future) longer than any run.
SUITE_S = 6 * 3600


def claims(sub: Any = "user-1", lifetime_s: float = SUITE_S, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub, "iat": now, "exp": int(now + lifetime_s), **changes}


def hs256(payload: dict[str, Any], secret: str = SECRET, **headers: Any) -> str:
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers or None)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(payload: dict[str, Any], **header: Any) -> str:
    """alg none: a header and claims, an empty signature."""
    head = b64url(orjson.dumps({"alg": "none", "typ": "JWT", **header}))
    return f"{head}.{b64url(orjson.dumps(payload))}."


def hmac_signed_with(key: bytes, payload: dict[str, Any], **header: Any) -> str:
    """HS256 by hand, with any bytes as the secret (PyJWT refuses a PEM public key as one)."""
    signing_input = (
        f"{b64url(orjson.dumps({'alg': 'HS256', 'typ': 'JWT', **header}))}.{b64url(orjson.dumps(payload))}"
    )
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any

    def sign(self, payload: dict[str, Any], **headers: Any) -> str:
        return jwt.encode(
            payload, self.private, algorithm=self.algorithm, headers={"kid": self.kid, **headers}
        )

    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        jwk: dict[str, Any] = orjson.loads(algorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def public_pem(self) -> bytes:
        return bytes(
            self.private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def rsa_key(kid: str = "rsa-1") -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def ec_key(kid: str = "ec-1") -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


def jwks(*keys: SigningKey, extra: list[dict[str, Any]] | None = None) -> bytes:
    return orjson.dumps({"keys": [key.public_jwk() for key in keys] + (extra or [])})


@dataclass
class JwksServer:
    """Serves `keys` (changed by the test to rotate them) at /jwks.json and counts the fetches; `body`,
    when set, is served instead."""

    keys: list[SigningKey] = field(default_factory=list)
    body: bytes | None = None
    fetches: int = 0
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> JwksServer:
        app = web.Application()
        app.router.add_get("/jwks.json", self._serve)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/jwks.json"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _serve(self, _request: web.Request) -> web.Response:
        self.fetches += 1
        body = self.body if self.body is not None else jwks(*self.keys)
        return web.Response(body=body, content_type="application/json")
