"""Bounded, normalised inputs: usernames, sources, ids, JSON bodies, query numbers, and the text rule."""

from __future__ import annotations

import re
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from aiohttp import hdrs, web
from pydantic import BaseModel, ValidationError

from libs import usernames
from services.gateway.errors import ApiError, error_response

SOURCE_RE = re.compile(r"^[a-z0-9_]{1,20}$")
MAX_BODY = 64 * 1024

# C0 controls, DEL, C1 controls, and lone surrogates (bytes that were not UTF-8, as aiohttp decodes them).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
BODY_WHITESPACE = "\t\n\r"
_INT64 = 2**63
HEADER_WHITESPACE = "\t"
# require_admin and identity.caller answer 401/403 for any Authorization value: a client learns it is
# the credential that is wrong.
_HEADERS_CHECKED_BY_THEIR_READER = frozenset({hdrs.AUTHORIZATION.lower()})

M = TypeVar("M", bound=BaseModel)


def has_control_character(text: str, allowed: str = "") -> bool:
    """The one text rule for what reaches storage or a comparison: PostgreSQL text cannot hold NUL,
    and no control character or undecodable byte is text a person meant; `allowed` lists exceptions."""
    return any(match.group() not in allowed for match in _CONTROL.finditer(text))


def normalise_username(raw: str) -> str:
    """The username rule (libs.usernames), a 400 INVALID_USERNAME when it fails."""
    name = usernames.normalise_username(raw)
    if name is None:
        raise ApiError(400, "INVALID_USERNAME", f"Username must be {usernames.RULE}.")
    return name


def username_field(raw: str) -> str:
    """The username rule inside a body model: a ValueError becomes the 422's field message."""
    name = usernames.normalise_username(raw)
    if name is None:
        raise ValueError(f"'{raw}' is not a valid username ({usernames.RULE})")
    return name


def parse_source(raw: str | None) -> str:
    source = "frontend" if raw is None else raw
    if not SOURCE_RE.fullmatch(source):
        raise ApiError(400, "INVALID_SOURCE", "source must be 1-20 characters of a-z, 0-9 or '_'.")
    return source


def parse_queue_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ApiError(
            400,
            "INVALID_UUID_FORMAT",
            "queue_id must be a valid UUID",
            troubleshooting="Ensure queue_id is a properly formatted UUID "
            "(e.g., 12345678-1234-1234-1234-123456789012)",
        ) from None


def parse_session_id(raw: str) -> str:
    if not raw.strip() or len(raw) > 255:
        raise ApiError(400, "INVALID_SESSION_ID", "session_id must be 1-255 characters and not blank.")
    return raw


async def parse_body(request: web.Request, model: type[M], *, optional: bool = False) -> M:
    """The body as `model`; with `optional` (a requestBody not required) no body means every default."""
    raw = await request.read()  # aiohttp enforces client_max_size (64 KiB) here with a 413
    if optional and not raw:
        raw = b"{}"
    try:
        data: Any = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        raise ApiError(400, "INVALID_JSON", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "INVALID_JSON", "The request body must be a JSON object.")
    if fields := _inspect_document(data):
        raise ApiError(
            422, "VALIDATION_ERROR", "The request body holds control characters.", extra={"fields": fields}
        )
    try:
        # Strict, as the OpenAPI document says: "5" is not a number, "true" not a boolean.
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        fields = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()[:20]
        ]
        raise ApiError(
            422, "VALIDATION_ERROR", "The request body does not match the schema.", extra={"fields": fields}
        ) from None


def _inspect_document(document: dict[str, Any]) -> list[dict[str, str]]:
    """The fields whose strings (keys too) hold control characters, breadth first (iterative: JSON nests
    deeper than the interpreter's recursion limit). Integral numbers written as 5.0 become 5 on the
    way: JSON has one number type, so 5.0 is the integer 5 to the OpenAPI document too."""
    found: list[dict[str, str]] = []
    pending: deque[tuple[str, Any]] = deque([("", document)])
    while pending and len(found) < 20:
        path, value = pending.popleft()
        if isinstance(value, str):
            if has_control_character(value, BODY_WHITESPACE):
                found.append({"field": path, "message": "must not contain control characters"})
            continue
        items = list(value.items()) if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            name = str(key)
            if isinstance(key, str) and has_control_character(key, BODY_WHITESPACE):
                name = key.encode("unicode_escape", "backslashreplace").decode("ascii")
                found.append(
                    {"field": _join(path, name), "message": "a key must not contain control characters"}
                )
            if isinstance(item, float) and item.is_integer() and abs(item) < _INT64:
                value[key] = int(item)
            elif isinstance(item, str | dict | list):
                pending.append((_join(path, name), item))
    return found


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


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


def query_bool(request: web.Request, name: str) -> bool:
    """`true` or `false` (absent: false), as the discovery feed takes its booleans."""
    raw = request.query.get(name, "false")
    if raw not in ("true", "false"):
        raise ApiError(400, "INVALID_PARAMETER", f"{name} must be true or false.")
    return raw == "true"


@web.middleware
async def input_guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """What no handler could store or compare is refused before any runs: a body declared over
    MAX_BODY, control characters in headers, path parameters and the query."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        # Answered before reading: waiting for the declared bytes would hold the connection open.
        response = error_response(
            ApiError(413, "PAYLOAD_TOO_LARGE", f"The request body is larger than {MAX_BODY // 1024} KiB.")
        )
        response.force_close()
        return response
    for name, value in request.headers.items():
        if name.lower() not in _HEADERS_CHECKED_BY_THEIR_READER and has_control_character(
            value, HEADER_WHITESPACE
        ):
            raise ApiError(400, "INVALID_HEADER", f"The {name} header is not valid text.")
    for name, value in request.match_info.items():
        if has_control_character(value):
            raise ApiError(400, "INVALID_PARAMETER", f"{name} must not contain control characters.")
    for name, value in request.query.items():
        if has_control_character(name) or has_control_character(value):
            raise ApiError(400, "INVALID_PARAMETER", "Query parameters must not contain control characters.")
    return await handler(request)
