"""The one username rule (API.md): strip one leading '@', lowercase, then Instagram's rule."""

from __future__ import annotations

import re

USERNAME_PATTERN = r"^[a-z0-9._]{1,30}$"
USERNAME_RE = re.compile(USERNAME_PATTERN)
RULE = "1-30 characters of letters, digits, '.' or '_' (an optional leading '@')"


def normalise_username(raw: str) -> str | None:
    """The username as stored and streamed, or None when `raw` cannot be one."""
    name = (raw[1:] if raw.startswith("@") else raw).lower()
    return name if USERNAME_RE.fullmatch(name) else None
