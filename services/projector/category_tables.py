"""Where the taxonomy files a creator (primary_profiles) and their reels and posts (content).

A categorisation replaces an earlier one, judged by when it occurred rather than when it arrives: an
older one delivered late (a retry) leaves a newer one in place, so any order gives the same rows. The
events follow, on the creator's stream, the ingestion that wrote the rows they name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from libs.events.envelope import Envelope
from services.projector import statements
from services.projector.domain import CREATOR_COLUMNS, REEL_CATEGORY_COLUMNS

_PROFILE_COLUMNS = (
    "primary_category", "secondary_category", "tertiary_category", "keywords", "language", "classifier",
    "categorised_at",
)  # fmt: skip

# Columnar (statements.py): a wave's categorisations in one statement; keywords a JSON list each.
_CATEGORISE_PROFILE = statements.columnar(
    f"""UPDATE primary_profiles p SET {", ".join(f"{c} = r.{c}" for c in _PROFILE_COLUMNS)}
        FROM (SELECT r.username, r.primary_category, r.secondary_category, r.tertiary_category,
                     ARRAY(SELECT jsonb_array_elements_text(r.keywords::jsonb)) AS keywords, r.language,
                     r.classifier, r.categorised_at
              FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                          $8::timestamptz[])
                       AS r(username, primary_category, secondary_category, tertiary_category, keywords,
                            language, classifier, categorised_at)) r
        WHERE p.username = r.username AND coalesce(p.categorised_at <= r.categorised_at, true)
          AND ({", ".join(f"p.{c}" for c in _PROFILE_COLUMNS)})
              IS DISTINCT FROM ({", ".join(f"r.{c}" for c in _PROFILE_COLUMNS)})"""
)


async def profile_categorised(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        _CATEGORISE_PROFILE,
        [p["username"]],
        [p["primary_category"]],
        [p.get("secondary_category")],
        [p.get("tertiary_category")],
        [orjson.dumps(p.get("keywords", [])).decode()],
        [p.get("language")],
        [p["classifier"]],
        [e.occurred_at],
    )


# A row already filed so (by the ingestion it follows in the batch) is not written again. The creator's
# columns are written with it, from their profile as it stands.
_CATEGORISE_CONTENT = f"""
    UPDATE content c SET {", ".join(f"{c} = r.{c}" for c in REEL_CATEGORY_COLUMNS)},
           ({", ".join(c for c, _ in CREATOR_COLUMNS)}) = (
               SELECT {", ".join(f"p.{column}" for _, column in CREATOR_COLUMNS)} FROM primary_profiles p
               WHERE p.username = c.username)
    FROM (SELECT r.content_id, r.category, ARRAY(SELECT jsonb_array_elements_text(r.keywords::jsonb)) AS keywords,
                 r.language, r.content_style, r.hook_type, $7::timestamptz AS categorised_at
          FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                   AS r(content_id, category, keywords, language, content_style, hook_type)) r
    WHERE c.content_id = r.content_id AND coalesce(c.categorised_at <= r.categorised_at, true)
      AND ({", ".join(f"c.{c}" for c in REEL_CATEGORY_COLUMNS)})
          IS DISTINCT FROM ({", ".join(f"r.{c}" for c in REEL_CATEGORY_COLUMNS)})"""


async def reels_categorised(conn: asyncpg.Connection, e: Envelope) -> None:
    await file_reels(conn, e.payload.get("reels", []), e.occurred_at)


async def file_reels(conn: asyncpg.Connection, entries: Sequence[Mapping[str, Any]], at: datetime) -> None:
    reels = list({r["content_id"]: r for r in entries}.values())  # one named twice: the later entry
    if reels:
        await conn.execute(
            _CATEGORISE_CONTENT,
            [r["content_id"] for r in reels],
            [r["category"] for r in reels],
            [orjson.dumps(r.get("keywords") or []).decode() for r in reels],  # a JSON list each
            [r.get("language") for r in reels],
            [r.get("content_style") for r in reels],
            [r.get("hook_type") for r in reels],
            at,
        )
