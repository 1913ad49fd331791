"""Admin endpoints: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time."""

from __future__ import annotations

import hmac

from aiohttp import web

from services.gateway import keys
from services.gateway.errors import ApiError
from services.gateway.settings import GatewaySettings


def require_admin(request: web.Request) -> None:
    """Any Authorization value gives 401 or 403, also one that is not text (see validation.input_guard)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "UNAUTHORIZED",
            "This endpoint needs an admin token.",
            troubleshooting="Send 'Authorization: Bearer <ADMIN_TOKEN>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not admin_token_matches(request.app[keys.SETTINGS], token):
        raise ApiError(403, "FORBIDDEN", "The admin token is not valid.")


def admin_token_matches(settings: GatewaySettings, token: str) -> bool:
    configured = settings.admin_token
    expected = configured.get_secret_value() if configured is not None else ""
    # With no token configured every token is wrong: admin endpoints are never open by default.
    return bool(expected) and hmac.compare_digest(_sent_bytes(token), expected.encode())


def _sent_bytes(token: str) -> bytes:
    """The bytes the client sent: aiohttp decodes header bytes that are not UTF-8 to lone surrogates."""
    try:
        return token.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return b""  # a surrogate no decoding produces: equal to no token
