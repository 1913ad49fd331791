"""The gateway's HTTP server: aiohttp's, with the JSON error contract also for what never reaches the
application (requests its HTTP parser refuses, failures outside the error middleware).

aiohttp offers no hook for these answers (aio-libs/aiohttp#3287): its RequestHandler.handle_error
writes text/plain and echoes the refused bytes. The runner below builds a server whose connections
use a RequestHandler that answers with the error envelope instead.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import http_exceptions, web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from services.gateway.errors import ApiError, error_response

log = structlog.get_logger(__name__)

# What the client did wrong, by the parser's exception; never the bytes it sent.
_PARSE_ERRORS: list[tuple[type[Exception], str, str]] = [
    (http_exceptions.LineTooLong, "REQUEST_TOO_LARGE", "The request line or a header is too long."),
    (http_exceptions.BadHttpMethod, "INVALID_METHOD", "The request method is not a valid HTTP method."),
    (http_exceptions.InvalidHeader, "INVALID_HEADER", "A request header is not valid."),
    (http_exceptions.InvalidURLError, "INVALID_URL", "The request target is not a valid URL."),
    (http_exceptions.PayloadEncodingError, "INVALID_BODY", "The request body is not validly encoded."),
]


def _protocol_error(status: int, exc: BaseException | None) -> ApiError:
    if status >= 500:
        return ApiError(500, "INTERNAL_ERROR", "An unexpected error occurred.")
    for kind, code, detail in _PARSE_ERRORS:
        if isinstance(exc, kind):
            return ApiError(status, code, detail)
    return ApiError(status, "MALFORMED_REQUEST", "The request is not valid HTTP/1.1.")


class GatewayRequestHandler(RequestHandler):
    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:
            log.error("gateway.protocol_error", status=status, path=request.path, exc_info=exc)
        else:
            # The parser's message quotes the request: only its kind is logged.
            log.info("gateway.malformed_request", status=status, error=type(exc).__name__)
        if request.writer.output_size > 0:
            raise ConnectionError("the response had started; no error answer can follow it")
        response = error_response(_protocol_error(status, exc))
        response.force_close()
        return response


class GatewayServer(web.Server):
    def __call__(self) -> RequestHandler:
        return GatewayRequestHandler(self, loop=self._loop, **self._kwargs)


class GatewayRunner(web.AppRunner):
    """web.AppRunner whose server answers protocol-level errors with the JSON error envelope."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()  # runs the app's startup hooks
        # The same server with our handler class; _kwargs are the RequestHandler arguments (limits, logs).
        return GatewayServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            **server._kwargs,
        )


async def start_http(app: web.Application, host: str, port: int, **runner_args: Any) -> GatewayRunner:
    """Serves the app on host:port (0 for any free port) until the returned runner is cleaned up."""
    runner = GatewayRunner(app, **runner_args)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=1024).start()
    return runner
