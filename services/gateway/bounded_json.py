"""Bounds on the free-form JSON a request may carry (analysis_settings): small enough that the event
recording it is always publishable, whatever the client sends (contracts/openapi.yaml states them)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from pydantic import AfterValidator

MAX_DEPTH = 5  # the object itself is level 1
MAX_ENTRIES = 50  # keys and list items, counted over the whole value
MAX_STRING = 1000  # characters, keys included
MAX_BYTES = 8 * 1024  # serialised


def check_bounded(value: dict[str, Any]) -> dict[str, Any]:
    """Raises ValueError (a 422 with the field) when the value exceeds a bound; iterative, so no input
    can exhaust the stack."""
    entries = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
            entries += len(item)
            if entries > MAX_ENTRIES:
                raise ValueError(f"more than {MAX_ENTRIES} keys and list items in all")
            if isinstance(item, dict):
                for key in item:
                    if len(key) > MAX_STRING:
                        raise ValueError(f"a key is longer than {MAX_STRING} characters")
                pending.extend((v, depth + 1) for v in item.values())
            else:
                pending.extend((v, depth + 1) for v in item)
        elif isinstance(item, str) and len(item) > MAX_STRING:
            raise ValueError(f"a string is longer than {MAX_STRING} characters")
    if len(orjson.dumps(value)) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES} bytes serialised")
    return value


BoundedObject = Annotated[dict[str, Any], AfterValidator(check_bounded)]
