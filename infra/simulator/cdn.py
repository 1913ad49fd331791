"""The provider's image host: GET /cdn/<path> answers a small PNG drawn from the path (the same path, the
same bytes), or, as SimulatorConfig.images says, what a CDN answers when things go wrong: 403 once a
signed URL expired, an HTML page, an image over any sane size limit. No API key, no latency: the CDN is
not the scraper API."""

from __future__ import annotations

import struct
import zlib

from aiohttp import web

from .control import STATE

_SIDE = 32
OVERSIZED_BYTES = 12 * 1024 * 1024


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_for(path: str, padding: int = 0) -> bytes:
    """A valid 32x32 PNG of one colour taken from the path's hash; `padding` bytes of a text chunk make
    it as large as a test needs."""
    digest = zlib.crc32(path.encode())
    colour = bytes(((digest >> 16) & 0xFF, (digest >> 8) & 0xFF, digest & 0xFF))
    rows = b"".join(b"\x00" + colour * _SIDE for _ in range(_SIDE))
    header = struct.pack(">IIBBBBB", _SIDE, _SIDE, 8, 2, 0, 0, 0)
    chunks = [_chunk(b"IHDR", header)]
    if padding:
        chunks.append(_chunk(b"tEXt", b"padding\x00" + b"x" * padding))
    chunks += [_chunk(b"IDAT", zlib.compress(rows)), _chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


async def get_image(request: web.Request) -> web.Response:
    state = request.app[STATE]
    answer = state.config.images
    path = request.match_info["path"]
    if answer == "expired":
        response = web.Response(status=403, text="URL signature expired", content_type="text/plain")
    elif answer == "not_image":
        response = web.Response(
            text="<html><body>Sorry, this page isn't available.</body></html>", content_type="text/html"
        )
    elif answer == "oversized":
        response = web.Response(body=png_for(path, OVERSIZED_BYTES), content_type="image/png")
    else:
        response = web.Response(body=png_for(path), content_type="image/png")
    state.record("/cdn", response.status, None)
    return response
