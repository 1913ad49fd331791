"""The one envelope every event travels in, on the bus and in the store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from libs.events.catalog import CHAINS, REGISTRY, Event
from libs.events.upcasting import upcast


class PoisonMessage(Exception):
    """A message no retry can fix: undecodable, of an unknown type or failing its schema."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class NewerSchemaVersion(Exception):
    """An event written by newer code than this one (a rolling deploy): not poison, since a replica
    that knows its version can read it."""

    def __init__(self, event_type: str, version: int, known: int) -> None:
        super().__init__(f"{event_type} version {version} is newer than this code knows (version {known})")
        self.event_type = event_type
        self.version = version
        self.known = known


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
        """The typed payload, in the current version's shape; raises PoisonMessage when the type is
        unknown or the payload invalid, NewerSchemaVersion when it was written by newer code."""
        event_cls = REGISTRY.get(self.event_type)
        if event_cls is None:
            raise PoisonMessage("unknown_event_type", self.event_type)
        try:
            return event_cls.model_validate(self._current_payload(event_cls))
        except ValidationError as exc:
            raise PoisonMessage("schema_invalid", _short_errors(exc)) from exc

    def upcast(self) -> Envelope:
        """This envelope with its payload in the shape this code writes: an older version's through its
        chain of upcasters (catalog.py), stamped with the current version. Itself when it is current or
        of a type this code does not know; NewerSchemaVersion when it is newer than this code."""
        event_cls = REGISTRY.get(self.event_type)
        if event_cls is None or self.schema_version == event_cls.schema_version:
            return self
        payload = self._current_payload(event_cls)
        return self.model_copy(update={"payload": payload, "schema_version": event_cls.schema_version})

    def _current_payload(self, event_cls: type[Event]) -> dict[str, Any]:
        # No copy of the envelope on the way (event() decodes every delivered and replayed event): a
        # one-step upcast then costs little more than the decode itself (bench figure 10).
        if self.schema_version == event_cls.schema_version:
            return self.payload
        if self.schema_version > event_cls.schema_version:
            raise NewerSchemaVersion(self.event_type, self.schema_version, event_cls.schema_version)
        try:
            return upcast(CHAINS[self.event_type], self.schema_version, self.payload)
        except Exception as exc:  # the same on every attempt: a bug, or a stored payload nothing wrote
            raise PoisonMessage("upcast_failed", f"{type(exc).__name__}: {exc}"[:1000]) from exc

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
