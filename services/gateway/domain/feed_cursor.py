"""The feed's cursor: where the previous page ended, for the query it was made for (no I/O here).

Opaque to clients: base64url (unpadded) of a JSON object {v, s, g, k, i, f}: the sort, the walk's
segment, the last item's sort key and content_id, and the fingerprint of the query's filters, sort and
session. It is not a secret (anyone could write one); it is checked, so that a cursor of another query,
or one altered, is refused rather than answered with a page of something else.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from services.gateway.validation import has_control_character

VERSION = 1
MAX_CURSOR = 1024
MAX_CONTENT_ID = 200
INT64 = 2**63
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")

Key = int | float | datetime | None


@dataclass(frozen=True)
class Position:
    """An item's place in a walk: its segment, its sort key (None in the segment of items without one)
    and its content_id, the tie-break."""

    segment: int
    key: Key
    content_id: str


def encode_cursor(sort: str, fingerprint: str, position: Position) -> str:
    key: Any = position.key.isoformat() if isinstance(position.key, datetime) else position.key
    document = {"v": VERSION, "s": sort, "g": position.segment, "k": key, "i": position.content_id}
    raw = orjson.dumps({**document, "f": fingerprint})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(
    raw: str, sort: str, fingerprint: str, key_type: type, segments: int, keyless_last: bool
) -> Position | None:
    """The position `raw` names, or None when it is not a cursor of this query (malformed, altered, or
    made for other filters, another sort or another session). `keyless_last`: the walk's last segment
    holds the items without a sort key."""
    if len(raw) > MAX_CURSOR or not _BASE64URL.fullmatch(raw):
        return None
    try:
        document = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):  # orjson.JSONDecodeError is a ValueError
        return None
    if not isinstance(document, dict) or set(document) != {"v", "s", "g", "k", "i", "f"}:
        return None
    if (document["v"], document["s"], document["f"]) != (VERSION, sort, fingerprint):
        return None
    segment, content_id = document["g"], document["i"]
    if type(segment) is not int or not 0 <= segment < segments:
        return None
    if not isinstance(content_id, str) or not 0 < len(content_id) <= MAX_CONTENT_ID:
        return None
    if has_control_character(content_id):
        return None
    if keyless_last and segment == segments - 1:
        return Position(segment, None, content_id) if document["k"] is None else None
    key = _key(document["k"], key_type)
    return Position(segment, key, content_id) if key is not None else None


def _key(value: Any, key_type: type) -> Key:
    if key_type is int:
        return value if type(value) is int and -INT64 <= value < INT64 else None
    if key_type is float:
        if type(value) in (int, float) and math.isfinite(value):
            return float(value)
        return None
    if isinstance(value, str) and len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo is not None else None
    return None
