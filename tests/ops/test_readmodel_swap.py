"""`viralspot readmodels rebuild --swap`: a rebuilt schema put in place of the live one while the gateway
answers and the projector projects, with nothing missed, nothing unanswered and nothing going back."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from aiohttp.test_utils import TestClient

from tests.ops.conftest import Filled, projector_caught_up, viralspot
from tests.support import infra

_CORRUPT = """UPDATE readmodel.content SET view_count = view_count + 1
              WHERE content_id = (SELECT min(content_id) FROM readmodel.content)
              RETURNING content_id, view_count"""
_INDEX_NAMES = """SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                  JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = 'readmodel'
                  ORDER BY 1"""


async def other_read_model_schemas(pool: asyncpg.Pool) -> list[str]:
    rows = await pool.fetch("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'readmodel_%' ORDER BY 1")
    return [r["nspname"] for r in rows]


async def test_a_swap_under_reads_and_writes_answers_every_read_and_equals_a_fresh_rebuild(
    filled: Filled, api: TestClient, pool: asyncpg.Pool, cli_env: dict[str, str]
) -> None:
    corrupted = await pool.fetchrow(_CORRUPT)  # the rebuild must repair it: proof the swap happened
    indexes = [r["relname"] for r in await pool.fetch(_INDEX_NAMES)]
    answers: list[str] = []
    requested: list[str] = []
    stop = asyncio.Event()

    async def read() -> None:
        while not stop.is_set():
            for path, check in (
                (f"/api/viral-ideas/queue/{filled.session_id}", lambda d: d["status"] == "completed"),
                (f"/api/profile/{filled.profiles[0]}/reels", lambda d: len(d["reels"]) > 0),
                (f"/api/viral-analysis/{filled.queue_id}/results", lambda d: bool(d)),
            ):
                resp = await api.get(path)
                body = await resp.json()
                ok = resp.status == 200 and check(body["data"])
                answers.append("ok" if ok else f"{path}: {resp.status} {str(body)[:300]}")

    async def write() -> None:
        n = 0
        while not stop.is_set():
            name = f"swap.newcomer{n}"
            resp = await api.post(f"/api/profile/{name}/request")
            assert resp.status == 200, await resp.text()
            requested.append(name)
            n += 1
            await asyncio.sleep(0.02)

    load = [asyncio.create_task(read()), asyncio.create_task(read()), asyncio.create_task(write())]
    try:
        await infra.eventually(lambda: _at_least(answers, 20), message="reads under way")
        swapped = await viralspot(
            cli_env, "readmodels", "rebuild", "--swap", "--yes", "--batch-size", "25", timeout_s=180
        )
        await asyncio.sleep(0.5)  # reads and writes go on after the swap
    finally:
        stop.set()
        await asyncio.gather(*load)
    assert swapped.code == 0, swapped.stdout + swapped.stderr
    assert "swapped: readmodel is the rebuilt schema" in swapped.stdout, swapped.stdout
    failed = [a for a in answers if a != "ok"]
    assert not failed and len(answers) > 40, failed[:5]

    await infra.eventually(lambda: projector_caught_up(pool), message="projector caught up after the swap")
    repaired = await pool.fetchval(
        "SELECT view_count FROM readmodel.content WHERE content_id = $1", corrupted["content_id"]
    )
    assert repaired == corrupted["view_count"] - 1
    # Every profile requested during the swap is in the read model, however the swap fell among them.
    queued = await pool.fetchval(
        "SELECT count(*) FROM readmodel.profile_queue WHERE username = ANY($1)", requested
    )
    assert queued == len(requested) > 5
    assert [r["relname"] for r in await pool.fetch(_INDEX_NAMES)] == indexes
    assert await other_read_model_schemas(pool) == []
    fresh = await viralspot(cli_env, "readmodels", "rebuild", "--compare", "--drop")
    assert fresh.code == 0 and "identical" in fresh.stdout, fresh.stdout + fresh.stderr


async def test_a_dry_run_reports_what_would_differ_and_touches_nothing(
    filled: Filled, pool: asyncpg.Pool, cli_env: dict[str, str]
) -> None:
    corrupted = await pool.fetchrow(_CORRUPT)
    dry = await viralspot(cli_env, "readmodels", "rebuild", "--swap", "--dry-run")
    assert dry.code == 1, dry.stdout + dry.stderr
    assert (
        "content: 1 rows only live, 1 only rebuilt" in dry.stdout and "dry run: nothing swapped" in dry.stdout
    )
    still = await pool.fetchval(
        "SELECT view_count FROM readmodel.content WHERE content_id = $1", corrupted["content_id"]
    )
    assert still == corrupted["view_count"]
    assert await other_read_model_schemas(pool) == []
    # Without a terminal to ask on, a swap needs --yes.
    unasked = await viralspot(cli_env, "readmodels", "rebuild", "--swap")
    assert unasked.code == 2 and "add --yes" in unasked.stderr, unasked.stderr
    assert await other_read_model_schemas(pool) == []


async def test_a_rebuild_that_cannot_apply_an_event_names_it_and_refuses_to_swap(
    filled: Filled, pool: asyncpg.Pool, cli_env: dict[str, str]
) -> None:
    corrupted = await pool.fetchrow(_CORRUPT)
    bad = uuid.uuid4()
    # As a buggy old producer might have stored it: a ProfileRequested without its username.
    await pool.execute(
        """INSERT INTO eventstore.events (event_id, stream_id, stream_version, event_type, occurred_at,
                                          producer, correlation_id, payload, published_at)
           VALUES ($1, 'profile-broken.one', 1, 'ProfileRequested', now(), 'gateway', $1,
                   '{"source": "user", "priority": "HIGH", "request_id": "0000beef"}', now())""",
        bad,
    )
    result = await viralspot(cli_env, "readmodels", "rebuild", "--swap", "--yes")
    assert result.code == 1, result.stdout + result.stderr
    assert "ERROR: 1 stored events could not be applied" in result.stdout
    assert f"ProfileRequested profile-broken.one@1 id={bad}: schema_invalid" in result.stdout
    assert "refusing to swap" in result.stdout
    still = await pool.fetchval(
        "SELECT view_count FROM readmodel.content WHERE content_id = $1", corrupted["content_id"]
    )
    assert still == corrupted["view_count"]
    assert await other_read_model_schemas(pool) == []


async def _at_least(items: list[str], n: int) -> bool:
    return len(items) >= n
