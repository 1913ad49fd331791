"""The bodies the analysis commands accept (POST /api/viral-ideas/queue and PATCH .../{queue_id}),
validated strictly: usernames normalised and de-duplicated, the primary never its own competitor."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from libs.events.catalog import Competitor, ContentStrategy, SelectionMethod
from services.gateway.bounded_json import BoundedObject
from services.gateway.validation import username_field


class CompetitorChoice(BaseModel):
    """One of selected_competitors: {"username", "selection_method"}, or a bare username (as the seeds
    send them), which is a competitor typed in: "manual"."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=31)
    selection_method: SelectionMethod = "manual"

    @model_validator(mode="before")
    @classmethod
    def _typed_in(cls, value: Any) -> Any:
        return {"username": value} if isinstance(value, str) else value

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return username_field(value)


def _first_of_each(choices: list[CompetitorChoice]) -> list[CompetitorChoice]:
    """De-duplicated by username, order kept: a username given twice keeps its first selection method."""
    first: dict[str, CompetitorChoice] = {}
    for choice in choices:
        first.setdefault(choice.username, choice)
    return list(first.values())


def competitors(choices: list[CompetitorChoice]) -> list[Competitor]:
    return [Competitor(username=c.username, selection_method=c.selection_method) for c in choices]


class QueueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(min_length=1, max_length=255)
    primary_username: str = Field(max_length=31)
    selected_competitors: list[CompetitorChoice] = Field(default_factory=list, max_length=15)
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
    def _competitors(cls, values: list[CompetitorChoice]) -> list[CompetitorChoice]:
        return _first_of_each(values)

    @model_validator(mode="after")
    def _primary_is_not_a_competitor(self) -> QueueRequest:
        self.selected_competitors = [
            c for c in self.selected_competitors if c.username != self.primary_username
        ]
        return self


class JobUpdate(BaseModel):
    """PATCH /api/viral-ideas/queue/{queue_id}: the fields to change, validated as at creation."""

    model_config = ConfigDict(extra="forbid")

    selected_competitors: list[CompetitorChoice] | None = Field(default=None, max_length=15)
    content_strategy: ContentStrategy | None = None
    auto_rerun_enabled: bool | None = None
    rerun_frequency_hours: int | None = Field(default=None, ge=1, le=168)

    @field_validator("selected_competitors")
    @classmethod
    def _competitors(cls, values: list[CompetitorChoice] | None) -> list[CompetitorChoice] | None:
        return None if values is None else _first_of_each(values)

    @model_validator(mode="after")
    def _something(self) -> JobUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of " + ", ".join(type(self).model_fields))
        return self
