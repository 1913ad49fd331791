"""Boards and an analysis's hooks and scripts as CSV (RFC 4180, UTF-8), Markdown or JSON, as downloads
(issue 15, item 4).

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
        return str(data.get("hook_text") or "") if isinstance(data, dict) else str(data)
    script = data.get("script")
    body = script.get("full_script") if isinstance(script, dict) else script
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


IDEA_COLUMNS = (
    "kind", "index", "hook", "hook_type", "source_username", "source_url", "source_outlier_score",
    "target_topic", "estimated_duration_seconds", "full_script",
)  # fmt: skip


def ideas(data: dict[str, Any]) -> list[dict[str, Any]]:
    """An analysis run's hooks then scripts, numbered from 1 as boards refer to them."""
    rows = []
    for i, hook in enumerate(data.get("generated_hooks") or [], start=1):
        source = hook.get("adapted_from") or {}
        rows.append({
            "kind": "hook", "index": i, "hook": hook.get("hook_text"), "hook_type": hook.get("hook_type"),
            "source_username": source.get("username"), "source_url": source.get("url"),
            "source_outlier_score": source.get("outlier_score"), "target_topic": hook.get("target_topic"),
        })  # fmt: skip
    for i, script in enumerate(data.get("complete_scripts") or [], start=1):
        rows.append({"kind": "script", "index": i, "hook": script.get("hook"),
                     "estimated_duration_seconds": script.get("estimated_duration_seconds"),
                     "full_script": script.get("full_script")})  # fmt: skip
    return rows


def ideas_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(IDEA_COLUMNS)
    writer.writerows([safe_cell(r.get(c)) for c in IDEA_COLUMNS] for r in rows)
    return out.getvalue()


def ideas_markdown(title: str, rows: list[dict[str, Any]]) -> str:
    lines = [f"# {_md(title)}", ""]
    for kind, heading in (("hook", "Hooks"), ("script", "Scripts")):
        lines += [f"## {heading}", ""]
        for r in (r for r in rows if r["kind"] == kind):
            lines.append(f"{r['index']}. {_md(r['hook'])}")
            if kind == "hook" and r.get("source_username"):
                lines.append(
                    f"   (from @{_md(r['source_username'])}, outlier {r.get('source_outlier_score')})"
                )
            if kind == "script":
                lines.append(f"   > {_md(r.get('full_script'))}")
        lines.append("")
    return "\n".join(lines)


def filename(name: str, prefix: str, fmt: str) -> str:
    """ASCII only: nothing a header or a file system could misread."""
    stem = _UNSAFE_FILENAME.sub("-", name.lower()).strip("-")[:60] or prefix
    return f"{prefix}-{stem}.{fmt}"


def download(text: str | bytes, fmt: str, name: str) -> web.Response:
    content_type = {"csv": "text/csv", "md": "text/markdown", "json": "application/json"}[fmt]
    return web.Response(
        body=text.encode() if isinstance(text, str) else text,
        content_type=content_type,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def board_download(board: dict[str, Any], fmt: str) -> web.Response:
    text: str | bytes
    if fmt == "csv":
        text = to_csv(board)
    elif fmt == "md":
        text = to_markdown(board)
    else:
        text = orjson.dumps(board, option=orjson.OPT_INDENT_2)
    return download(text, fmt, filename(board["name"], "board", fmt))
