"""Boards (issue 15): a signed-in user's saved reels, hooks and scripts with notes and tags, only ever
visible to their owner, with each item's current data, the limits enforced, and exports a spreadsheet
opens safely."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import asyncpg
import orjson
import pytest
from aiohttp.test_utils import TestClient

from libs.events import Topology
from services.gateway.settings import GatewaySettings
from tests.conftest import make_settings
from tests.e2e.test_ownership import ADMIN, ALICE, BOB, create, projected
from tests.e2e.test_viral_analysis import analysis, sim  # noqa: F401  (fixtures: a worker, the simulator)
from tests.support.tokens import AUDIENCE, SECRET

pytestmark = pytest.mark.usefixtures("analysis")


@pytest.fixture
def gateway_settings(database_url: str, amqp_url: str, topology: Topology) -> GatewaySettings:
    return make_settings(
        GatewaySettings, database_url, amqp_url, topology, admin_token="test-admin-token",
        auth_jwt_secret=SECRET, auth_jwt_audience=AUDIENCE, max_boards_per_user=3, max_board_items=4,
    )  # fmt: skip


@pytest.fixture
async def finished(api: TestClient) -> dict[str, Any]:
    """Alice's analysis, run to completion: its reels are in the read model, its hooks and scripts too."""
    job = await create(api, "boards-alice", headers=ALICE)
    await projected(api, "boards-alice", status="completed")
    return job


async def call(
    api: TestClient, method: str, path: str, headers: dict[str, str], **kw: Any
) -> tuple[int, Any]:
    async with api.request(method, path, headers=headers, **kw) as resp:
        body = await resp.json()
        return resp.status, body.get("data") if body.get("success") else body.get("error_code")


async def a_reel(pool: asyncpg.Pool) -> str:
    return await pool.fetchval(
        "SELECT content_id FROM readmodel.content WHERE view_count > 0 ORDER BY view_count DESC LIMIT 1"
    )


async def test_a_board_is_its_owners_alone(api: TestClient, finished: dict, pool: asyncpg.Pool) -> None:
    status, board = await call(api, "POST", "/api/boards", ALICE, json={"name": "  Hooks to film  "})
    assert status == 201 and board["name"] == "Hooks to film" and board["item_count"] == 0
    path = f"/api/boards/{board['id']}"
    reel = await a_reel(pool)
    attempts = [
        ("GET", path, {}), ("PATCH", path, {"json": {"name": "mine now"}}), ("DELETE", path, {}),
        ("GET", f"{path}/export", {}), ("POST", f"{path}/items", {"json": {"kind": "content", "content_id": reel}}),
    ]  # fmt: skip
    for method, target, kw in attempts:
        assert await call(api, method, target, BOB, **kw) == (404, "BOARD_NOT_FOUND"), (method, target)
        assert await call(api, method, target, {}, **kw) == (401, "UNAUTHORIZED"), (method, target)
        assert await call(api, method, target, ADMIN, **kw) == (401, "UNAUTHORIZED"), (method, target)
    assert (await call(api, "GET", "/api/boards", BOB))[1]["boards"] == []
    status, listed = await call(api, "GET", "/api/boards", ALICE)
    assert [b["id"] for b in listed["boards"]] == [board["id"]] and listed["limits"] == {
        "boards": 3, "items_per_board": 4,
    }  # fmt: skip
    # Bob cannot save Alice's analysis's hooks to a board of his own either.
    _, bobs = await call(api, "POST", "/api/boards", BOB, json={"name": "Hooks to film"})
    hook = {"kind": "hook", "queue_id": finished["id"], "run": 1, "index": 1}
    assert await call(api, "POST", f"/api/boards/{bobs['id']}/items", BOB, json=hook) == (
        404,
        "QUEUE_NOT_FOUND",
    )
    assert (await call(api, "GET", "/api/boards/not-a-uuid", ALICE))[0] == 400


async def test_items_carry_notes_tags_and_their_current_data(
    api: TestClient, finished: dict, pool: asyncpg.Pool
) -> None:
    _, board = await call(api, "POST", "/api/boards", ALICE, json={"name": "Ideas"})
    items = f"/api/boards/{board['id']}/items"
    reel = await a_reel(pool)
    status, saved = await call(
        api, "POST", items, ALICE, json={"kind": "content", "content_id": reel, "note": "film this",
                                         "tags": ["hook", "hook", "fitness"]},
    )  # fmt: skip
    assert status == 201 and saved["tags"] == ["hook", "fitness"] and saved["data"]["view_count"] > 0
    queue_id = finished["id"]
    status, hook = await call(
        api, "POST", items, ALICE, json={"kind": "hook", "queue_id": queue_id, "run": 1, "index": 1}
    )
    assert status == 201 and hook["data"], hook
    status, script = await call(
        api, "POST", items, ALICE, json={"kind": "script", "queue_id": queue_id, "run": 1, "index": 1}
    )
    assert status == 201 and script["data"]["script"], script

    refused = [
        ({"kind": "content", "content_id": reel}, 409, "ITEM_ALREADY_ON_BOARD"),
        ({"kind": "content", "content_id": "999999"}, 404, "CONTENT_NOT_FOUND"),
        ({"kind": "hook", "queue_id": queue_id, "run": 1, "index": 999}, 404, "RESULT_ITEM_NOT_FOUND"),
        ({"kind": "script", "queue_id": queue_id, "run": 7, "index": 1}, 404, "RESULT_ITEM_NOT_FOUND"),
        ({"kind": "content", "content_id": reel, "run": 1}, 422, "VALIDATION_ERROR"),
        ({"kind": "hook", "queue_id": queue_id, "run": 1}, 422, "VALIDATION_ERROR"),
        ({"kind": "content", "content_id": "x", "tags": ["t"] * 21}, 422, "VALIDATION_ERROR"),
        ({"kind": "content", "content_id": "x", "note": "n" * 2001}, 422, "VALIDATION_ERROR"),
    ]
    for body, expected_status, code in refused:
        assert await call(api, "POST", items, ALICE, json=body) == (expected_status, code), body

    # The item shows the reel as it is now, not as it was when saved.
    await pool.execute("UPDATE readmodel.content SET view_count = 123456789 WHERE content_id = $1", reel)
    status, shown = await call(api, "GET", f"/api/boards/{board['id']}", ALICE)
    assert [i["kind"] for i in shown["items"]] == ["content", "hook", "script"]
    assert shown["items"][0]["data"]["view_count"] == 123456789 and shown["item_count"] == 3

    status, changed = await call(api, "PATCH", f"{items}/{saved['id']}", ALICE, json={"note": "filmed"})
    assert status == 200 and changed["note"] == "filmed" and changed["tags"] == ["hook", "fitness"]
    assert await call(api, "PATCH", f"{items}/{saved['id']}", ALICE, json={}) == (422, "VALIDATION_ERROR")
    assert (await call(api, "DELETE", f"{items}/{hook['id']}", ALICE))[0] == 200
    assert await call(api, "DELETE", f"{items}/{hook['id']}", ALICE) == (404, "BOARD_ITEM_NOT_FOUND")
    status, renamed = await call(api, "PATCH", f"/api/boards/{board['id']}", ALICE, json={"name": "Filmed"})
    assert status == 200 and renamed["name"] == "Filmed" and renamed["item_count"] == 2
    assert (await call(api, "DELETE", f"/api/boards/{board['id']}", ALICE))[0] == 200
    assert await pool.fetchval("SELECT count(*) FROM gateway.board_items") == 0


async def test_limits_hold_under_concurrent_requests(
    api: TestClient, finished: dict, pool: asyncpg.Pool
) -> None:
    answers = await asyncio.gather(
        *(call(api, "POST", "/api/boards", ALICE, json={"name": f"board {i}"}) for i in range(6))
    )
    assert sorted(s for s, _ in answers) == [201, 201, 201, 409, 409, 409]
    assert {code for s, code in answers if s == 409} == {"BOARD_LIMIT_REACHED"}
    board = next(data for s, data in answers if s == 201)
    assert await call(api, "POST", "/api/boards", ALICE, json={"name": "board 0"}) in (
        (409, "BOARD_LIMIT_REACHED"), (409, "BOARD_NAME_TAKEN"),
    )  # fmt: skip
    reels = [r["content_id"] for r in await pool.fetch("SELECT content_id FROM readmodel.content LIMIT 6")]
    added = await asyncio.gather(
        *(call(api, "POST", f"/api/boards/{board['id']}/items", ALICE, json={"kind": "content", "content_id": r})
          for r in reels)
    )  # fmt: skip
    assert sorted(s for s, _ in added) == [201] * 4 + [409] * 2


async def test_exports_open_in_a_spreadsheet_without_running_formulas(
    api: TestClient, finished: dict, pool: asyncpg.Pool
) -> None:
    _, board = await call(api, "POST", "/api/boards", ALICE, json={"name": '../../Évil "name"'})
    items = f"/api/boards/{board['id']}/items"
    reels = [r["content_id"] for r in await pool.fetch("SELECT content_id FROM readmodel.content LIMIT 2")]
    formula = '=HYPERLINK("http://evil.example","x")'
    first = {"kind": "content", "content_id": reels[0], "note": formula, "tags": ["@a"]}
    await call(api, "POST", items, ALICE, json=first)
    await call(
        api,
        "POST",
        items,
        ALICE,
        json={"kind": "content", "content_id": reels[1], "note": "plain, with comma"},
    )
    await call(
        api, "POST", items, ALICE, json={"kind": "script", "queue_id": finished["id"], "run": 1, "index": 1}
    )

    async with api.get(f"/api/boards/{board['id']}/export?format=csv", headers=ALICE) as resp:
        assert resp.status == 200 and resp.content_type == "text/csv" and resp.charset == "utf-8"
        assert resp.headers["Content-Disposition"] == 'attachment; filename="board-vil-name.csv"'
        raw = await resp.read()
    assert b"\r\n" in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    assert [r["kind"] for r in rows] == ["content", "content", "script"]
    assert rows[0]["note"] == '\'=HYPERLINK("http://evil.example","x")' and rows[0]["tags"] == "'@a"
    assert rows[1]["note"] == "plain, with comma" and int(rows[1]["views"]) >= 0
    assert rows[2]["text"] and rows[2]["reference"].startswith(finished["id"])

    async with api.get(f"/api/boards/{board['id']}/export?format=md", headers=ALICE) as resp:
        text = await resp.text()
    assert text.startswith('# \\.\\./\\.\\./Évil "name"') and "Note: plain, with comma" in text
    async with api.get(f"/api/boards/{board['id']}/export?format=json", headers=ALICE) as resp:
        exported = orjson.loads(await resp.read())
    _, shown = await call(api, "GET", f"/api/boards/{board['id']}", ALICE)
    assert exported == shown
    assert await call(api, "GET", f"/api/boards/{board['id']}/export?format=xlsx", ALICE) == (
        400,
        "INVALID_FORMAT",
    )


async def test_an_analysis_exports_its_hooks_and_scripts_to_its_owner(
    api: TestClient, finished: dict
) -> None:
    path = f"/api/viral-analysis/{finished['id']}/export"
    async with api.get(path, headers=ALICE) as resp:
        assert resp.status == 200 and resp.content_type == "text/csv", await resp.text()
        assert resp.headers["Content-Disposition"] == 'attachment; filename="ideas-fitwithmaya-run-1.csv"'
        rows = list(csv.DictReader(io.StringIO((await resp.read()).decode("utf-8"))))
    async with api.get(f"/api/viral-analysis/{finished['id']}/results", headers=ALICE) as resp:
        data = (await resp.json())["data"]
    hooks, scripts = data["generated_hooks"], data["complete_scripts"]
    assert [r["kind"] for r in rows] == ["hook"] * len(hooks) + ["script"] * len(scripts) and hooks
    assert rows[0]["hook"].lstrip("'") == hooks[0]["hook_text"]
    assert rows[0]["source_username"] == hooks[0]["adapted_from"]["username"]
    assert rows[-1]["full_script"].lstrip("'") == scripts[-1]["full_script"]
    async with api.get(f"{path}?format=md", headers=ALICE) as resp:
        text = await resp.text()
    assert text.startswith("# Hooks and scripts for @fitwithmaya, run 1") and "## Scripts" in text
    assert await call(api, "GET", path, BOB) == (404, "QUEUE_NOT_FOUND")
    assert await call(api, "GET", f"{path}?format=json", ALICE) == (400, "INVALID_FORMAT")
