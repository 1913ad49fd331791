"""Crawler endpoints: start a crawl run (admin; appends CrawlRequested) and follow its progress."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from libs.events import NewEvent
from libs.events.catalog import CrawlRequested, crawl_stream
from services.gateway import keys, repository
from services.gateway.auth import require_admin
from services.gateway.errors import ApiError
from services.gateway.idempotency import answer_once
from services.gateway.responses import iso, ok
from services.gateway.validation import parse_body, username_field


class CrawlRunBody(BaseModel):
    """API.md #16. Strict: "5" is not a number and unknown fields are rejected (a typo would be ignored)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # Omitted or empty: automatic seed selection; null is not an array (the schema says so).
    seed_usernames: list[str] = Field(default_factory=list, max_length=50)
    target_profiles: int = Field(default=50, ge=1, le=1000)
    max_rounds: int = Field(default=5, ge=1, le=20)
    per_seed_limit: int = Field(default=4, ge=1, le=80)
    min_followers: int = Field(default=1000, ge=0, le=1_000_000_000)
    exclude_private: bool = True

    @field_validator("seed_usernames")
    @classmethod
    def _normalise(cls, value: list[str]) -> list[str]:
        """The API's username rule; duplicates after normalising are dropped, order kept."""
        return list(dict.fromkeys(username_field(raw) for raw in value))


async def start_crawl(request: web.Request) -> web.Response:
    require_admin(request)
    body = await parse_body(request, CrawlRunBody, optional=True)
    run_id = str(uuid.uuid4())
    event = CrawlRequested(
        run_id=run_id,
        seed_usernames=body.seed_usernames,
        target_profiles=body.target_profiles,
        max_rounds=body.max_rounds,
        per_seed_limit=body.per_seed_limit,
        min_followers=body.min_followers,
        exclude_private=body.exclude_private,
        trigger="admin",
    )

    async def create(conn: asyncpg.Connection) -> web.Response:
        async with conn.transaction():
            [envelope] = await request.app[keys.STORE].append(
                conn, crawl_stream(run_id), [NewEvent(event=event)], expected_version=0
            )
        # Answered only now: the request is durably recorded and the crawler will pick it up.
        data = _from_request(event, envelope.occurred_at)
        data["status_url"] = f"/api/crawler/runs/{run_id}"
        response = ok(data, status=202)
        response.headers["Location"] = data["status_url"]
        return response

    return await answer_once(request, create)


async def crawl_status(request: web.Request) -> web.Response:
    raw = request.match_info["run_id"]
    try:
        run_id = uuid.UUID(raw)
    except ValueError:
        raise ApiError(400, "INVALID_RUN_ID", "run_id must be a UUID.") from None
    async with request.app[keys.POOL].acquire() as conn:
        row = await repository.crawl_run(conn, run_id)
        if row is not None:
            return ok(_from_row(row))
        # The projection lags the store by milliseconds: a run just accepted is already visible.
        data = await _from_store(request, conn, str(run_id))
    if data is None:
        raise ApiError(404, "CRAWL_RUN_NOT_FOUND", f"No crawl run {run_id}.")
    return ok(data)


def _from_row(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "run_id": str(row["run_id"]),
        "status": row["status"],
        "trigger": row["trigger"],
        "seed_usernames": list(row["seed_usernames"]),
        "target_profiles": row["target_profiles"],
        "max_rounds": row["max_rounds"],
        "per_seed_limit": row["per_seed_limit"],
        "min_followers": row["min_followers"],
        "exclude_private": row["exclude_private"],
        "rounds_completed": row["rounds_completed"],
        "seeds_used": list(row["seeds_used"]),
        "discovered": row["discovered"],
        "queued": row["queued"],
        "skipped_duplicates": row["skipped_duplicates"],
        "skipped_low_quality": row["skipped_low_quality"],
        "pauses": row["pauses"],
        "resume_at": iso(row["resume_at"]),
        "finish_reason": row["finish_reason"],
        "error_message": row["error_message"],
        "requested_at": iso(row["requested_at"]),
        "started_at": iso(row["started_at"]),
        "completed_at": iso(row["completed_at"]),
    }


async def _from_store(request: web.Request, conn: asyncpg.Connection, run_id: str) -> dict[str, Any] | None:
    events = await request.app[keys.STORE].read_stream(conn, crawl_stream(run_id), to_version=1)
    if not events or events[0].event_type != "CrawlRequested":
        return None
    requested = CrawlRequested.model_validate(events[0].payload)
    return _from_request(requested, events[0].occurred_at)


def _from_request(event: CrawlRequested, requested_at: datetime | None) -> dict[str, Any]:
    return {
        "run_id": event.run_id,
        "status": "pending",
        "trigger": event.trigger,
        "seed_usernames": list(event.seed_usernames),
        "target_profiles": event.target_profiles,
        "max_rounds": event.max_rounds,
        "per_seed_limit": event.per_seed_limit,
        "min_followers": event.min_followers,
        "exclude_private": event.exclude_private,
        "rounds_completed": 0,
        "seeds_used": [],
        "discovered": 0,
        "queued": 0,
        "skipped_duplicates": 0,
        "skipped_low_quality": 0,
        "pauses": 0,
        "resume_at": None,
        "finish_reason": None,
        "error_message": None,
        "requested_at": iso(requested_at),
        "started_at": None,
        "completed_at": None,
    }
