"""The crawler's tables (schema `crawler`): runs with their lease and progress, discoveries, known profiles."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import datetime

import asyncpg

from libs.events.catalog import CrawlRequested
from services.crawler.domain import Outcome, Run, RunConfig, RunProgress

_SCHEDULE_LOCK = (4_301, 1)  # advisory-lock namespace of the crawler, key of the schedule


def _run(row: asyncpg.Record) -> Run:
    config = {f.name: row[f.name] for f in fields(RunConfig)}
    progress = {f.name: row[f.name] for f in fields(RunProgress)}
    return Run(
        run_id=row["run_id"],
        status=row["status"],
        trigger=row["trigger"],
        config=RunConfig(**{**config, "seed_usernames": tuple(config["seed_usernames"])}),
        progress=RunProgress(**progress),
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
        pauses=row["pauses"],
        errors=row["errors"],
    )


async def insert_run(
    conn: asyncpg.Connection, event: CrawlRequested, *, correlation_id: uuid.UUID, causation_id: uuid.UUID,
    requested_at: datetime,
) -> bool:  # fmt: skip
    """Record a requested run; a redelivered or self-scheduled request is already there."""
    inserted = await conn.fetchval(
        """INSERT INTO crawler.runs (run_id, status, trigger, seed_usernames, target_profiles, max_rounds,
                                     per_seed_limit, min_followers, exclude_private, correlation_id,
                                     causation_id, requested_at, next_attempt_at)
           VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
           ON CONFLICT (run_id) DO NOTHING RETURNING true""",
        uuid.UUID(event.run_id),
        event.trigger,
        list(event.seed_usernames),
        event.target_profiles,
        event.max_rounds,
        event.per_seed_limit,
        event.min_followers,
        event.exclude_private,
        correlation_id,
        causation_id,
        requested_at,
    )
    return bool(inserted)


async def claim_next(conn: asyncpg.Connection, worker: str, lease_s: float) -> tuple[Run, str] | None:
    """Take the next run due whose lease is free or expired (call inside a transaction). A lease handed
    back (released, or taken back after a restart) ends at that moment, so it is free from then on.

    Returns the run and the status it had, so the caller can tell a first start from a resumption.
    """
    row = await conn.fetchrow(
        """SELECT run_id, status FROM crawler.runs
           WHERE status IN ('pending', 'running', 'paused') AND next_attempt_at <= now()
             AND (lease_expires_at IS NULL OR lease_expires_at < now())
           ORDER BY next_attempt_at, requested_at
           LIMIT 1 FOR UPDATE SKIP LOCKED"""
    )
    if row is None:
        return None
    claimed = await conn.fetchrow(
        """UPDATE crawler.runs SET status = 'running', lease_owner = $2,
                  lease_expires_at = now() + make_interval(secs => $3),
                  started_at = coalesce(started_at, now()), updated_at = now()
           WHERE run_id = $1 RETURNING *""",
        row["run_id"],
        worker,
        lease_s,
    )
    return _run(claimed), row["status"]


async def seen_in_run(conn: asyncpg.Connection, run_id: uuid.UUID) -> set[str]:
    rows = await conn.fetch("SELECT username FROM crawler.discoveries WHERE run_id = $1", run_id)
    return {r["username"] for r in rows}


async def queued_this_round(conn: asyncpg.Connection, run_id: uuid.UUID, round_: int) -> int:
    return int(
        await conn.fetchval(
            """SELECT count(*) FROM crawler.discoveries
               WHERE run_id = $1 AND round = $2 AND outcome = 'queued'""",
            run_id,
            round_,
        )
    )


async def round_counts(conn: asyncpg.Connection, run_id: uuid.UUID, round_: int) -> dict[str, int]:
    rows = await conn.fetch(
        """SELECT outcome, count(*) AS n FROM crawler.discoveries WHERE run_id = $1 AND round = $2
           GROUP BY outcome""",
        run_id,
        round_,
    )
    return {r["outcome"]: r["n"] for r in rows}


async def queued_by_earlier_run(conn: asyncpg.Connection, username: str, run_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM crawler.discoveries
                              WHERE username = $1 AND outcome = 'queued' AND run_id <> $2)""",
            username,
            run_id,
        )
    )


async def record_discovery(
    conn: asyncpg.Connection, run_id: uuid.UUID, *, username: str, round_: int, seed: str,
    outcome: Outcome, reason: str | None, request_id: str | None,
) -> None:  # fmt: skip
    column = {
        "queued": "queued",
        "skipped_duplicate": "skipped_duplicates",
        "skipped_low_quality": "skipped_low_quality",
    }[outcome]
    await conn.execute(
        """INSERT INTO crawler.discoveries (run_id, username, round, seed, outcome, reason, request_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        run_id,
        username,
        round_,
        seed,
        outcome,
        reason,
        request_id,
    )
    await conn.execute(
        f"""UPDATE crawler.runs SET discovered = discovered + 1, {column} = {column} + 1, pauses = 0,
                   errors = 0, updated_at = now()
            WHERE run_id = $1""",
        run_id,
    )


async def start_round(
    conn: asyncpg.Connection, run_id: uuid.UUID, round_: int, seed: str, at: datetime
) -> None:
    await conn.execute(
        """UPDATE crawler.runs SET round = $2, round_seed = $3, seeds_used = array_append(seeds_used, $3),
                  pauses = 0, errors = 0, updated_at = now()
           WHERE run_id = $1""",
        run_id,
        round_,
        seed,
    )
    await conn.execute(
        "UPDATE crawler.known_profiles SET last_used_as_seed_at = $2 WHERE username = $1", seed, at
    )


async def finish_round(conn: asyncpg.Connection, run_id: uuid.UUID, rounds_completed: int) -> None:
    await conn.execute(
        """UPDATE crawler.runs SET round_seed = NULL, rounds_completed = $2, updated_at = now()
           WHERE run_id = $1""",
        run_id,
        rounds_completed,
    )


async def skip_seed(conn: asyncpg.Connection, run_id: uuid.UUID, seed: str, *, gone: bool) -> None:
    await conn.execute(
        """UPDATE crawler.runs SET seeds_skipped = array_append(seeds_skipped, $2), updated_at = now()
           WHERE run_id = $1""",
        run_id,
        seed,
    )
    if gone:
        await conn.execute("UPDATE crawler.known_profiles SET unavailable = true WHERE username = $1", seed)


async def pause(conn: asyncpg.Connection, run_id: uuid.UUID, reason: str, resume_at: datetime) -> None:
    await conn.execute(
        """UPDATE crawler.runs SET status = 'paused', pauses = pauses + 1, last_error = $2,
                  next_attempt_at = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
           WHERE run_id = $1""",
        run_id,
        reason,
        resume_at,
    )


async def back_off(conn: asyncpg.Connection, run_id: uuid.UUID, error: str, retry_at: datetime) -> int:
    """An unexpected error: release the run for a later attempt; returns the consecutive error count."""
    return int(
        await conn.fetchval(
            """UPDATE crawler.runs SET errors = errors + 1, last_error = $2, next_attempt_at = $3,
                      lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
               WHERE run_id = $1 RETURNING errors""",
            run_id,
            error,
            retry_at,
        )
    )


async def finish(conn: asyncpg.Connection, run_id: uuid.UUID, status: str, reason: str | None) -> None:
    await conn.execute(
        """UPDATE crawler.runs SET status = $2, last_error = $3, round_seed = NULL, finished_at = now(),
                  lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
           WHERE run_id = $1""",
        run_id,
        status,
        reason,
    )


async def next_automatic_seed(conn: asyncpg.Connection, exclude: list[str], cooldown_h: float) -> str | None:
    """An ingested public profile: not used recently first, then a niche this run has not crawled yet,
    then the one unused for longest, then the biggest."""
    return await conn.fetchval(
        """WITH used_niches AS (
               SELECT DISTINCT niche FROM crawler.known_profiles WHERE username = ANY($1::text[]))
           SELECT username FROM crawler.known_profiles
           WHERE NOT unavailable AND NOT is_private AND username <> ALL($1::text[])
           ORDER BY coalesce(last_used_as_seed_at > now() - make_interval(hours => $2), false),
                    niche IN (SELECT niche FROM used_niches),
                    last_used_as_seed_at NULLS FIRST, followers DESC, username
           LIMIT 1""",
        exclude,
        cooldown_h,
    )


async def next_frontier_seed(conn: asyncpg.Connection, run_id: uuid.UUID, exclude: list[str]) -> str | None:
    """A profile this run queued itself: the crawl goes one step further out into the network."""
    return await conn.fetchval(
        """SELECT username FROM crawler.discoveries
           WHERE run_id = $1 AND outcome = 'queued' AND username <> ALL($2::text[])
           ORDER BY discovered_at, username LIMIT 1""",
        run_id,
        exclude,
    )


async def upsert_known_profile(
    conn: asyncpg.Connection, username: str, *, followers: int, niche: str, is_private: bool,
    ingested_at: datetime,
) -> None:  # fmt: skip
    await conn.execute(
        """INSERT INTO crawler.known_profiles (username, followers, niche, is_private, ingested_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (username) DO UPDATE SET followers = $2, niche = $3, is_private = $4,
               unavailable = false, ingested_at = greatest(crawler.known_profiles.ingested_at, $5)""",
        username,
        followers,
        niche,
        is_private,
        ingested_at,
    )


async def mark_unavailable(conn: asyncpg.Connection, username: str) -> None:
    await conn.execute("UPDATE crawler.known_profiles SET unavailable = true WHERE username = $1", username)


async def lock_schedule(conn: asyncpg.Connection) -> bool:
    """Several crawler processes agree on who schedules: the one that gets this transaction's lock."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1, $2)", *_SCHEDULE_LOCK))


async def has_active_run(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM crawler.runs WHERE status IN ('pending', 'running', 'paused'))"
        )
    )


async def has_seedable_profiles(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM crawler.known_profiles
                              WHERE NOT unavailable AND NOT is_private)"""
        )
    )


async def last_scheduled_at(conn: asyncpg.Connection) -> datetime | None:
    return await conn.fetchval("SELECT max(requested_at) FROM crawler.runs WHERE trigger = 'schedule'")
