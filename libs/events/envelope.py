"""The one envelope every event travels in, on the bus and in the store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from libs.events.catalog import REGISTRY, Event


class PoisonMessage(Exception):
    """A message no retry can fix: undecodable, of an unknown type or failing its schema."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: uuid.UUID
    event_type: str = Field(min_length=1, max_length=100)
    schema_version: int = Field(default=1, ge=1)
    occurred_at: datetime
    producer: str = Field(min_length=1, max_length=100)
    stream_id: str = Field(min_length=1, max_length=300)
    stream_version: int = Field(ge=1)
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    payload: dict[str, Any]

    def event(self) -> Event:
        """The typed payload; raises PoisonMessage when the type is unknown or the payload invalid."""
        event_cls = REGISTRY.get(self.event_type)
        if event_cls is None:
            raise PoisonMessage("unknown_event_type", self.event_type)
        try:
            return event_cls.model_validate(self.payload)
        except ValidationError as exc:
            raise PoisonMessage("schema_invalid", _short_errors(exc)) from exc

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, body: bytes) -> Envelope:
        try:
            raw = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise PoisonMessage("undecodable", f"body is not JSON ({exc})") from exc
        if not isinstance(raw, dict):
            raise PoisonMessage("undecodable", "body is not a JSON object")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise PoisonMessage("schema_invalid", _short_errors(exc)) from exc


class NewEvent(BaseModel):
    """An event about to be appended; the store gives it its stream version."""

    model_config = ConfigDict(frozen=True)

    event: Event
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    metadata: dict[str, Any] = Field(default_factory=dict)


def _short_errors(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()[:5]]
    return "; ".join(parts)[:1000]
