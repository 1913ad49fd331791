"""The bodies the analysis commands accept (POST /api/viral-ideas/queue and PATCH .../{queue_id}),
validated strictly: usernames normalised and de-duplicated, the primary never its own competitor."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from libs.events.catalog import ContentStrategy
from services.gateway.bounded_json import BoundedObject
from services.gateway.validation import username_field


class QueueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(min_length=1, max_length=255)
    primary_username: str = Field(max_length=31)
    selected_competitors: list[str] = Field(default_factory=list, max_length=15)
    content_strategy: ContentStrategy
    analysis_settings: BoundedObject = Field(default_factory=dict)
    priority: int = Field(default=5, ge=1, le=10)
    auto_rerun_enabled: bool = True
    rerun_frequency_hours: int = Field(default=24, ge=1, le=168)

    @field_validator("session_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("primary_username")
    @classmethod
    def _primary(cls, value: str) -> str:
        return username_field(value)

    @field_validator("selected_competitors")
    @classmethod
    def _competitors(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(username_field(v) for v in values))  # de-duplicated, order kept

    @model_validator(mode="after")
    def _primary_is_not_a_competitor(self) -> QueueRequest:
        self.selected_competitors = [c for c in self.selected_competitors if c != self.primary_username]
        return self


class JobUpdate(BaseModel):
    """PATCH /api/viral-ideas/queue/{queue_id}: the fields to change, validated as at creation."""

    model_config = ConfigDict(extra="forbid")

    selected_competitors: list[str] | None = Field(default=None, max_length=15)
    content_strategy: ContentStrategy | None = None
    auto_rerun_enabled: bool | None = None
    rerun_frequency_hours: int | None = Field(default=None, ge=1, le=168)

    @field_validator("selected_competitors")
    @classmethod
    def _competitors(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else list(dict.fromkeys(username_field(v) for v in values))

    @model_validator(mode="after")
    def _something(self) -> JobUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of " + ", ".join(type(self).model_fields))
        return self
