"""The success envelope and the JSON shapes every view answers with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import orjson
from aiohttp import web


def ok(data: Any, status: int = 200) -> web.Response:
    return ok_body(envelope(data), status)


def envelope(data: Any) -> bytes:
    """The success envelope, encoded: what ok() sends, and what the status cache keeps."""
    return orjson.dumps({"success": True, "data": data})


def ok_body(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


def iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None


def jsonable(row: asyncpg.Record) -> dict[str, Any]:
    """A row as a JSON-ready dict (timestamps in ISO 8601)."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
