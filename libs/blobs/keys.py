"""Content-addressed media keys: the SHA-256 of the bytes and an extension for the image type. Shared by
the worker that stores a copy, the projector that points the read model at it and the gateway that
serves it, so all three agree on what a key and its URL look like."""

from __future__ import annotations

import hashlib
import re

# The gateway's route for a stored copy (contracts/openapi.yaml, GET /api/media/{key}).
MEDIA_PATH = "/api/media/"
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}
CONTENT_TYPES = {extension: content_type for content_type, extension in EXTENSIONS.items()}
KEY_PATTERN = r"^[0-9a-f]{64}\.(jpg|png|webp|gif)$"
_KEY = re.compile(KEY_PATTERN)


def media_key(data: bytes, content_type: str) -> str:
    """Equal bytes give equal keys: a copy is stored once however often it is fetched."""
    return f"{hashlib.sha256(data).hexdigest()}.{EXTENSIONS[content_type]}"


def is_media_key(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


def content_type_of(key: str) -> str:
    return CONTENT_TYPES[key.rsplit(".", 1)[1]]


def media_url(key: str) -> str:
    """Where the gateway serves the copy: a path on the API's own origin."""
    return f"{MEDIA_PATH}{key}"
