"""Checks a JSON document against a shape fixture: field name -> JSON type, nested (see
tests/fixtures/original_results_shape.json for the notation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load_shape(name: str) -> dict[str, Any]:
    shape = orjson.loads((FIXTURES / name).read_bytes())
    return {key: value for key, value in shape.items() if not key.startswith("_")}


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _is(value: Any, expected: str) -> bool:
    actual = _type_of(value)
    allowed = set(expected.split("|"))
    return actual in allowed or (actual == "integer" and "number" in allowed)


def shape_problems(document: Any, shape: Any, where: str = "data") -> list[str]:
    """Every field of `shape` missing from `document` or of another type; an array of objects must not be
    empty, so its item shape is really checked (an empty list of words is fine)."""
    if isinstance(shape, str):
        return [] if _is(document, shape) else [f"{where} is {_type_of(document)}, expected {shape}"]
    if isinstance(shape, list):
        if not isinstance(document, list):
            return [f"{where} is {_type_of(document)}, expected array"]
        if not document and not isinstance(shape[0], str):
            return [f"{where} is an empty array, so its items cannot be checked"]
        return [
            problem
            for i, item in enumerate(document)
            for problem in shape_problems(item, shape[0], f"{where}[{i}]")
        ]
    if not isinstance(document, dict):
        return [f"{where} is {_type_of(document)}, expected object"]
    problems = []
    for name, expected in shape.items():
        if name not in document:
            problems.append(f"{where}.{name} is missing")
        else:
            problems.extend(shape_problems(document[name], expected, f"{where}.{name}"))
    return problems
