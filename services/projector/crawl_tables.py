"""crawl_runs: the progress of each crawl run, from its crawl-<run_id> stream (GET /api/crawler/runs/{id})."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from libs.events.envelope import Envelope

_COUNTER = {
    "queued": "queued",
    "skipped_duplicate": "skipped_duplicates",
    "skipped_low_quality": "skipped_low_quality",
}


def _run_id(e: Envelope) -> uuid.UUID:
    return uuid.UUID(e.payload["run_id"])


async def crawl_requested(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """INSERT INTO crawl_runs (run_id, status, trigger, seed_usernames, target_profiles, max_rounds,
                                   per_seed_limit, min_followers, exclude_private, requested_at, updated_at)
           VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $9)
           ON CONFLICT (run_id) DO NOTHING""",
        _run_id(e),
        p.get("trigger", "admin"),
        p.get("seed_usernames", []),
        p["target_profiles"],
        p["max_rounds"],
        p["per_seed_limit"],
        p["min_followers"],
        p.get("exclude_private", True),
        e.occurred_at,
    )


async def crawl_started(conn: asyncpg.Connection, e: Envelope) -> None:
    await conn.execute(
        """UPDATE crawl_runs SET status = 'running', started_at = coalesce(started_at, $2), resume_at = NULL,
                  error_message = NULL, updated_at = $2
           WHERE run_id = $1""",
        _run_id(e),
        e.occurred_at,
    )


async def crawl_paused(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """UPDATE crawl_runs SET status = 'paused', error_message = $2, resume_at = $3, pauses = pauses + 1,
                  updated_at = $4
           WHERE run_id = $1""",
        _run_id(e),
        p["reason"],
        _timestamp(p["resume_at"]),
        e.occurred_at,
    )


async def profile_discovered(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    column = _COUNTER[p["outcome"]]
    await conn.execute(
        f"""UPDATE crawl_runs SET discovered = discovered + 1, {column} = {column} + 1,
                   seeds_used = CASE WHEN $2 = ANY(seeds_used) THEN seeds_used
                                     ELSE array_append(seeds_used, $2) END,
                   updated_at = $3
            WHERE run_id = $1""",
        _run_id(e),
        p["seed"],
        e.occurred_at,
    )


async def crawl_round_completed(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        """UPDATE crawl_runs SET rounds_completed = greatest(rounds_completed, $2),
                  seeds_used = CASE WHEN $3 = ANY(seeds_used) THEN seeds_used
                                    ELSE array_append(seeds_used, $3) END,
                  updated_at = $4
           WHERE run_id = $1""",
        _run_id(e),
        p["round"],
        p["seed"],
        e.occurred_at,
    )


async def crawl_completed(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    failed = p["status"] == "failed"
    await conn.execute(
        """UPDATE crawl_runs SET status = $2, rounds_completed = $3, error_message = $4, finish_reason = $5,
                  resume_at = NULL, completed_at = $6, updated_at = $6
           WHERE run_id = $1""",
        _run_id(e),
        p["status"],
        p["rounds_completed"],
        p.get("reason") if failed else None,
        p.get("reason"),
        e.occurred_at,
    )


def _timestamp(value: object) -> object:
    return datetime.fromisoformat(value) if isinstance(value, str) else value
