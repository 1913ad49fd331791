"""HTTP/1.1 over a bare socket: for requests an HTTP client refuses to send (bytes that are not UTF-8,
an invalid method, a body shorter than declared)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from services.gateway.server import start_http


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        assert self.headers.get("content-type", "").startswith("application/json"), self
        return orjson.loads(self.body)


async def exchange(address: tuple[str, int], request: bytes, timeout_s: float = 3.0) -> RawResponse:
    """Sends the bytes as they are and reads one response; fails when none comes within timeout_s."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout_s)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in filter(None, lines):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(length), timeout_s)
        return RawResponse(int(status_line.split(" ")[1]), headers, body)
    finally:
        writer.close()


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[tuple[str, int]]:
    """The app on a real TCP port, served the way `python -m services.gateway` serves it."""
    runner = await start_http(app, "127.0.0.1", 0, shutdown_timeout=1)
    try:
        host, port = runner.addresses[0][:2]
        yield host, port
    finally:
        await runner.cleanup()
