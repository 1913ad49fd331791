"""The JSON error contract: proper status, error_code, detail, timestamp; never a stack trace."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from aiohttp import web

from libs.events.db import is_transient_database_error

log = structlog.get_logger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error_code: str,
        detail: str,
        *,
        troubleshooting: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.error_code = error_code
        self.detail = detail
        self.troubleshooting = troubleshooting
        self.extra = extra or {}
        self.headers = headers or {}


def error_response(error: ApiError) -> web.Response:
    body: dict[str, Any] = {
        "success": False,
        "detail": error.detail,
        "error_code": error.error_code,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    if error.troubleshooting:
        body["troubleshooting"] = error.troubleshooting
    body.update(error.extra)
    return web.Response(
        body=orjson.dumps(body), status=error.status, content_type="application/json", headers=error.headers
    )


def service_unavailable(what: str = "The event store or broker") -> ApiError:
    return ApiError(
        503,
        "SERVICE_UNAVAILABLE",
        f"{what} cannot take the request right now; nothing was recorded.",
        troubleshooting="Retry after a few seconds.",
        headers={"Retry-After": "5"},
    )


_BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})
_HTTP_CODES = {
    404: ("NOT_FOUND", "No such endpoint."),
    405: ("METHOD_NOT_ALLOWED", "This endpoint does not accept that method."),
    413: ("PAYLOAD_TOO_LARGE", "The request body is larger than 64 KiB."),
}


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, detail = _HTTP_CODES.get(exc.status, ("HTTP_ERROR", exc.reason))
        # Its own headers stay (Allow on a 405, RFC 9110); the body and its type are ours.
        kept = {k: v for k, v in exc.headers.items() if k.lower() not in _BODY_HEADERS}
        response = error_response(ApiError(exc.status, code, detail, headers=kept))
        if exc.status == 413:
            response.force_close()  # the rest of the body is never read
        return response
    except Exception as exc:
        if is_transient_database_error(exc):
            log.warning("gateway.dependency_unavailable", error=repr(exc), path=request.path)
            return error_response(service_unavailable())
        log.exception("gateway.unhandled_error", path=request.path, method=request.method)
        return error_response(ApiError(500, "INTERNAL_ERROR", "An unexpected error occurred."))
