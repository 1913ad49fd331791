"""Usernames, shortcodes and URLs as the simulator reads and writes them.

Shortcodes are reversible (base64 of `username:index` for a reel, `username:post:index` for a
post), so a URL alone leads back to its creator, as it does on Instagram.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import urlparse

USERNAME = re.compile(r"^[a-z0-9._]{1,30}$")


def shortcode(username: str, index: int) -> str:
    """Reversible, so a reel URL alone leads back to its creator, as it does on Instagram."""
    return base64.urlsafe_b64encode(f"{username}:{index}".encode()).decode().rstrip("=")


def parse_shortcode(code: str) -> tuple[str, int] | None:
    try:
        decoded = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, _, index = decoded.rpartition(":")
    if not USERNAME.match(username) or not index.isdigit():
        return None
    return username, int(index)


def parse_username(value: str) -> str | None:
    text = value.strip()
    if "instagram.com" in text:
        parts = _path_parts(text)
        text = parts[0] if parts else ""
    text = text.lstrip("@").lower()
    return text if USERNAME.match(text) else None


def parse_reel_code(value: str) -> str | None:
    text = value.strip()
    if "/" in text:
        parts = _path_parts(text)
        text = parts[1] if len(parts) >= 2 and parts[0] in ("reel", "reels", "p", "tv") else ""
    return text or None


def _path_parts(url: str) -> list[str]:
    path = urlparse(url if "//" in url else f"https://{url}").path
    return [part for part in path.split("/") if part]


def post_shortcode(username: str, index: int) -> str:
    """In its own space: a post's code never decodes as a reel's, so media and transcripts of a post
    code answer "not found" (the simulator does not serve posts there)."""
    return base64.urlsafe_b64encode(f"{username}:post:{index}".encode()).decode().rstrip("=")
