"""A step's answer read as its JSON object, with the repairs that cannot change what the model said:
JSON inside a code fence or between words, the section given without its key, other sections dropped.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from pydantic import ValidationError

from .asking import Rejected

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def decode(
    content: str, section: str, is_list: bool, finish_reason: str | None
) -> tuple[dict[str, Any], bool]:
    """The answer as {section: value} and whether it had to be repaired; Rejected if it cannot be read."""
    repaired = False
    try:
        payload: Any = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        payload = _embedded(content)
        if payload is None:
            cut = " (the answer was cut off: keep texts shorter)" if finish_reason == "length" else ""
            raise Rejected("invalid_json", [f"the answer is not valid JSON: {exc}{cut}"]) from None
        repaired = True
    if isinstance(payload, dict) and section in payload:
        if len(payload) > 1:
            payload, repaired = {section: payload[section]}, True
        return payload, repaired
    if isinstance(payload, list if is_list else dict) and payload:
        return {section: payload}, True
    raise Rejected("invalid_json", [f'the answer must be a JSON object with the key "{section}"'])


def readable(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "answer"
        problems.append(f"{where}: {item['msg']}")
    return problems


def _embedded(content: str) -> Any:
    """The one JSON value in a fence, else the first one the text holds, trailing words ignored."""
    for candidate in [*_FENCE.findall(content), content]:
        starts = [i for i in (candidate.find("{"), candidate.find("[")) if i >= 0]
        if not starts:
            continue
        try:
            value, _ = json.JSONDecoder().raw_decode(candidate, min(starts))
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict | list):
            return value
    return None
