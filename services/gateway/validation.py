"""Bounded, normalised inputs: usernames, sources, JSON bodies, query numbers."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.gateway.errors import ApiError

USERNAME_RE = re.compile(r"^[a-z0-9._]{1,30}$")
SOURCE_RE = re.compile(r"^[a-z0-9_]{1,20}$")

M = TypeVar("M", bound=BaseModel)


def normalise_username(raw: str) -> str:
    """Strip one leading @, lowercase, then the Instagram username rule."""
    name = raw[1:] if raw.startswith("@") else raw
    name = name.lower()
    if not USERNAME_RE.fullmatch(name):
        raise ApiError(
            400,
            "INVALID_USERNAME",
            "Username must be 1-30 characters of letters, digits, '.' or '_' (an optional leading '@').",
        )
    return name


def parse_source(raw: str | None) -> str:
    source = "frontend" if raw is None else raw
    if not SOURCE_RE.fullmatch(source):
        raise ApiError(400, "INVALID_SOURCE", "source must be 1-20 characters of a-z, 0-9 or '_'.")
    return source


async def parse_body(request: web.Request, model: type[M]) -> M:
    raw = await request.read()  # aiohttp enforces client_max_size (64 KiB) here with a 413
    try:
        data: Any = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        raise ApiError(400, "INVALID_JSON", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "INVALID_JSON", "The request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()[:20]
        ]
        raise ApiError(
            422, "VALIDATION_ERROR", "The request body does not match the schema.", extra={"fields": fields}
        ) from None


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "INVALID_PARAMETER", f"{name} must be an integer.") from None
    if not low <= value <= high:
        raise ApiError(400, "INVALID_PARAMETER", f"{name} must be between {low} and {high}.")
    return value
