"""POST /api/auth/dev-token: a development sign-in for `make run`, where no identity provider runs.

Anyone who can reach it becomes whichever user they name, so it answers only with AUTH_DEV_LOGIN=1
and AUTH_JWT_SECRET set (docker compose sets neither); otherwise it is an unknown route."""

from __future__ import annotations

import time
from typing import Any

import jwt
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.gateway import keys
from services.gateway.responses import ok
from services.gateway.validation import has_control_character, parse_body


class DevTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=64)

    @field_validator("user")
    @classmethod
    def _text(cls, value: str) -> str:
        # A user id is compared and stored: no tab or line break either, unlike free text.
        if has_control_character(value):
            raise ValueError("must not contain control characters")
        return value


async def dev_token(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    if not settings.auth_dev_login or settings.auth_jwt_secret is None:
        raise web.HTTPNotFound()  # the error middleware answers it as it answers any unknown route
    body = await parse_body(request, DevTokenRequest)
    now = int(time.time())
    claims: dict[str, Any] = {"sub": body.user, "iat": now, "exp": now + settings.auth_dev_token_ttl_s}
    if settings.auth_jwt_issuer is not None:
        claims["iss"] = settings.auth_jwt_issuer
    if settings.auth_jwt_audience is not None:
        claims["aud"] = settings.auth_jwt_audience
    token = jwt.encode(claims, settings.auth_jwt_secret.get_secret_value(), algorithm="HS256")
    response = ok({"token": token, "expires_in": settings.auth_dev_token_ttl_s})
    response.headers["Cache-Control"] = "no-store"  # a credential (RFC 6749 5.1)
    return response
