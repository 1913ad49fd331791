"""Boards (issue 15): a signed-in user's saved reels, posts, hooks and scripts, each with a note and tags,
listed with what they point at now. Only the owner finds a board: anyone else gets 404 BOARD_NOT_FOUND,
as for one that does not exist. Limits: MAX_BOARDS_PER_USER boards, MAX_BOARD_ITEMS items each (409)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from services.gateway import exports, keys
from services.gateway.analysis_access import visible_session
from services.gateway.errors import ApiError
from services.gateway.identity import caller, unauthorized
from services.gateway.repository import boards as store
from services.gateway.repository.boards import Thing
from services.gateway.responses import iso, ok
from services.gateway.validation import parse_body, parse_queue_id

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Note = Annotated[str, StringConstraints(max_length=2000)]


def _tags(value: list[str] | None) -> list[str] | None:
    return None if value is None else list(dict.fromkeys(value))  # duplicates dropped, order kept


class BoardBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class ItemBody(BaseModel):
    """A reel or post by content_id, or an analysis run's hook or script by queue_id, run and index
    (1-based, as the results number them)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["content", "hook", "script"]
    content_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    queue_id: str | None = Field(default=None, max_length=64)
    run: int | None = Field(default=None, ge=1, le=100_000)
    index: int | None = Field(default=None, ge=1, le=1000)
    note: Note = ""
    tags: list[Tag] = Field(default_factory=list, max_length=20)

    @field_validator("tags")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str] | None:
        return _tags(value)

    @model_validator(mode="after")
    def _one_reference(self) -> ItemBody:
        generated = (self.queue_id, self.run, self.index)
        if self.kind == "content" and (self.content_id is None or any(v is not None for v in generated)):
            raise ValueError("a content item has content_id and nothing else")
        if self.kind != "content" and (self.content_id is not None or any(v is None for v in generated)):
            raise ValueError(f"a {self.kind} item has queue_id, run and index, and no content_id")
        return self

    def thing(self) -> Thing:
        if self.kind == "content":
            return Thing("content", content_id=self.content_id)
        assert self.queue_id is not None
        return Thing(self.kind, queue_id=parse_queue_id(self.queue_id), run=self.run, index=self.index)


class ItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Note | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)

    @field_validator("tags")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return _tags(value)

    @model_validator(mode="after")
    def _something(self) -> ItemUpdate:
        if self.note is None and self.tags is None:
            raise ValueError("give a note, tags, or both")
        return self


async def owner(request: web.Request, *, query_token: bool = False) -> str:
    """The signed-in user: boards, watchlists, alerts and webhooks are theirs alone."""
    who = await caller(request, query_token=query_token)
    if who.user_id is None:
        raise unauthorized("This belongs to a signed-in user (the administrator token has none).")
    return who.user_id


def _id(request: web.Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise ApiError(400, "INVALID_UUID_FORMAT", f"{name} must be a valid UUID") from None


def board_not_found() -> ApiError:
    return ApiError(404, "BOARD_NOT_FOUND", "No such board.")


def item_not_found() -> ApiError:
    return ApiError(404, "BOARD_ITEM_NOT_FOUND", "No such item on this board.")


def _board(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "item_count": row["item_count"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def item(row: asyncpg.Record) -> dict[str, Any]:
    """An item, what it refers to, and that thing's current data (null when the read model lacks it)."""
    ref: dict[str, Any]
    if row["kind"] == "content":
        ref = {"content_id": row["content_id"]}
        data: Any = None
        if row["username"] is not None:
            data = {k: row[k] for k in ("username", "post_type", "url", "description", "view_count",
                                        "like_count", "comment_count", "outlier_score", "engagement_rate")}  # fmt: skip
            data["date_posted"] = iso(row["date_posted"])
    else:
        ref = {"queue_id": row["queue_id"], "run": row["analysis_run"], "index": row["item_index"]}
        if row["kind"] == "hook":
            data = row["hook"]
        else:
            data = None if row["script"] is None else {"hook": row["script_hook"], "script": row["script"]}
    return {"id": row["id"], "kind": row["kind"], **ref, "note": row["note"], "tags": list(row["tags"]),
            "added_at": iso(row["added_at"]), "data": data}  # fmt: skip


async def create_board(request: web.Request) -> web.Response:
    user = await owner(request)
    body = await parse_body(request, BoardBody)
    limit = request.app[keys.SETTINGS].max_boards_per_user
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        await store.lock_owner(conn, user)
        if await store.board_count(conn, user) >= limit:
            raise ApiError(409, "BOARD_LIMIT_REACHED", f"You have {limit} boards, the most allowed.",
                           troubleshooting="Delete a board you no longer need, then retry.")  # fmt: skip
        try:
            row = await store.create(conn, user, body.name)
        except asyncpg.UniqueViolationError:
            raise _name_taken(body.name) from None
    return ok(_board(row), status=201)


def _name_taken(name: str) -> ApiError:
    return ApiError(409, "BOARD_NAME_TAKEN", f"You already have a board named {name!r}.")


async def list_boards(request: web.Request) -> web.Response:
    user = await owner(request)
    settings = request.app[keys.SETTINGS]
    async with request.app[keys.POOL].acquire() as conn:
        rows = await store.boards_of(conn, user)
    limits = {"boards": settings.max_boards_per_user, "items_per_board": settings.max_board_items}
    return ok({"boards": [_board(r) for r in rows], "limits": limits})


async def get_board(request: web.Request) -> web.Response:
    return ok(await board_with_items(request))


async def board_with_items(request: web.Request) -> dict[str, Any]:
    user, board_id = await owner(request), _id(request, "board_id")
    async with request.app[keys.POOL].acquire() as conn:
        row = await store.board(conn, board_id, user)
        if row is None:
            raise board_not_found()
        rows = await store.items(conn, board_id)
    return {**_board(row), "items": [item(r) for r in rows]}


async def rename_board(request: web.Request) -> web.Response:
    user, board_id = await owner(request), _id(request, "board_id")
    body = await parse_body(request, BoardBody)
    async with request.app[keys.POOL].acquire() as conn:
        try:
            row = await store.rename(conn, board_id, user, body.name)
        except asyncpg.UniqueViolationError:
            raise _name_taken(body.name) from None
    if row is None:
        raise board_not_found()
    return ok(_board(row))


async def delete_board(request: web.Request) -> web.Response:
    user, board_id = await owner(request), _id(request, "board_id")
    async with request.app[keys.POOL].acquire() as conn:
        if not await store.delete(conn, board_id, user):
            raise board_not_found()
    return ok({"id": str(board_id), "deleted": True})


async def add_item(request: web.Request) -> web.Response:
    user, board_id = await owner(request), _id(request, "board_id")
    body = await parse_body(request, ItemBody)
    thing = body.thing()
    limit = request.app[keys.SETTINGS].max_board_items
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        if await store.board(conn, board_id, user, lock=True) is None:  # locked: the count below holds
            raise board_not_found()
        if await store.item_count(conn, board_id) >= limit:
            raise ApiError(409, "BOARD_ITEM_LIMIT_REACHED", f"This board holds {limit} items, the most allowed.",
                           troubleshooting="Remove items, or start another board.")  # fmt: skip
        await _check_exists(conn, request, thing)
        try:
            item_id = await store.add_item(conn, board_id, thing, body.note, body.tags)
        except asyncpg.UniqueViolationError:
            raise ApiError(409, "ITEM_ALREADY_ON_BOARD", "This board already holds that item.") from None
        [row] = await store.items(conn, board_id, item_id)
    return ok(item(row), status=201)


async def _check_exists(conn: asyncpg.Connection, request: web.Request, thing: Thing) -> None:
    if thing.kind == "content":
        if not await store.content_exists(conn, thing.content_id or ""):
            raise ApiError(404, "CONTENT_NOT_FOUND", f"No reel or post {thing.content_id} is known.")
        return
    assert thing.queue_id is not None
    await visible_session(conn, request, thing.queue_id)  # another user's analysis: 404 QUEUE_NOT_FOUND
    if not await store.generated_exists(conn, thing):
        raise ApiError(404, "RESULT_ITEM_NOT_FOUND",
                       f"Run {thing.run} of this analysis has no {thing.kind} {thing.index}.")  # fmt: skip


async def update_item(request: web.Request) -> web.Response:
    user, board_id, item_id = await owner(request), _id(request, "board_id"), _id(request, "item_id")
    body = await parse_body(request, ItemUpdate)
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        if await store.board(conn, board_id, user) is None:
            raise board_not_found()
        if not await store.update_item(conn, board_id, item_id, body.note, body.tags):
            raise item_not_found()
        [row] = await store.items(conn, board_id, item_id)
    return ok(item(row))


async def remove_item(request: web.Request) -> web.Response:
    user, board_id, item_id = await owner(request), _id(request, "board_id"), _id(request, "item_id")
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        if await store.board(conn, board_id, user) is None:
            raise board_not_found()
        if not await store.remove_item(conn, board_id, item_id):
            raise item_not_found()
    return ok({"id": str(item_id), "deleted": True})


async def export_board(request: web.Request) -> web.StreamResponse:
    fmt = request.query.get("format", "csv")
    if fmt not in exports.FORMATS:
        raise ApiError(400, "INVALID_FORMAT", f"format must be one of {', '.join(exports.FORMATS)}.")
    return exports.board_download(await board_with_items(request), fmt)
