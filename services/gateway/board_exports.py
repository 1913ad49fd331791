"""A board as CSV (RFC 4180, UTF-8), Markdown or JSON, as a download (issue 15, item 4).

CSV cells that a spreadsheet would run as a formula (starting with = + - @, or a tab or carriage return
that some strip first) get a leading apostrophe: OWASP's advice against CSV injection."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import orjson
from aiohttp import web

FORMATS = ("csv", "md", "json")
CSV_COLUMNS = (
    "kind", "reference", "username", "url", "views", "likes", "comments", "outlier_score", "text", "note",
    "tags", "added_at",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_FILENAME = re.compile(r"[^a-z0-9]+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>])")


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _reference(item: dict[str, Any]) -> str:
    if item["kind"] == "content":
        return str(item["content_id"])
    return f"{item['queue_id']}/run {item['run']}/{item['kind']} {item['index']}"


def _text(item: dict[str, Any]) -> str:
    """What a person reads of the item: a reel's caption, a hook's line, a script's hook and script."""
    data = item["data"]
    if data is None:
        return ""
    if item["kind"] == "content":
        return data.get("description") or ""
    if item["kind"] == "hook":
        if isinstance(data, dict):
            return str(data.get("hook") or data.get("text") or orjson.dumps(data).decode())
        return str(data)
    script = data.get("script")
    body = script.get("script") if isinstance(script, dict) else script
    return f"{data.get('hook') or ''}\n{body or ''}".strip()


def _row(item: dict[str, Any]) -> list[str]:
    data = item["data"] if item["kind"] == "content" and item["data"] else {}
    cells = [
        item["kind"], _reference(item), data.get("username"), data.get("url"), data.get("view_count"),
        data.get("like_count"), data.get("comment_count"), data.get("outlier_score"), _text(item),
        item["note"], ";".join(item["tags"]), item["added_at"],
    ]  # fmt: skip
    return [safe_cell(c) for c in cells]


def to_csv(board: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180: CRLF, quotes where needed
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_row(i) for i in board["items"])
    return out.getvalue()


def _md(text: Any) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text or "").split()))


def to_markdown(board: dict[str, Any]) -> str:
    lines = [f"# {_md(board['name'])}", "", f"{len(board['items'])} items", ""]
    for item in board["items"]:
        data = item["data"] if item["kind"] == "content" and item["data"] else {}
        head = f"- **{item['kind']}** {_md(_reference(item))}"
        if data:
            head += f" by @{_md(data.get('username'))}, {data.get('view_count') or 0} views"
            head += f", outlier {data.get('outlier_score')}"
        lines.append(head)
        if text := _text(item):
            lines.append(f"  > {_md(text)}")
        if item["note"]:
            lines.append(f"  Note: {_md(item['note'])}")
        if item["tags"]:
            lines.append("  Tags: " + ", ".join(_md(t) for t in item["tags"]))
    return "\n".join(lines) + "\n"


def filename(board: dict[str, Any], fmt: str) -> str:
    """ASCII only, from the board's name: nothing a header or a file system could misread."""
    stem = _UNSAFE_FILENAME.sub("-", board["name"].lower()).strip("-")[:60] or "board"
    return f"board-{stem}.{fmt}"


def response(board: dict[str, Any], fmt: str) -> web.Response:
    if fmt == "csv":
        body, content_type = to_csv(board).encode(), "text/csv"
    elif fmt == "md":
        body, content_type = to_markdown(board).encode(), "text/markdown"
    else:
        body, content_type = orjson.dumps(board, option=orjson.OPT_INDENT_2), "application/json"
    return web.Response(
        body=body,
        content_type=content_type,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename(board, fmt)}"'},
    )
