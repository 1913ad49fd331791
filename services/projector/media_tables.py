"""What each media-<username> stream says: the stored copy of a profile image or a reel thumbnail
(media_copies), and the read-model rows that show it instead of the provider's expiring URL.

The copy and the rows it belongs to come from different streams, so either may be projected first: a
MediaStored points the rows that exist at the copy, and the profile projections point the rows they
write at any copy already there (profile_tables calls the functions below). Either order, and a
rebuild, leaves the same rows."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from libs.blobs import MEDIA_PATH
from libs.events.envelope import Envelope
from services.projector import statements

_STORED = """
    INSERT INTO media_copies (kind, owner, username, key, content_type, bytes, sha256, source_url, stored_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (kind, owner) DO UPDATE SET username = EXCLUDED.username, key = EXCLUDED.key,
        content_type = EXCLUDED.content_type, bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256,
        source_url = EXCLUDED.source_url, stored_at = EXCLUDED.stored_at"""


async def media_stored(conn: asyncpg.Connection, e: Envelope) -> None:
    p = e.payload
    await conn.execute(
        _STORED, p["kind"], p["owner"], p["username"], p["key"], p["content_type"], p["bytes"], p["sha256"],
        p["source_url"], e.occurred_at,
    )  # fmt: skip
    url = MEDIA_PATH + p["key"]
    if p["kind"] == "profile_image":
        await conn.execute(
            "UPDATE primary_profiles SET profile_image_url = $2 WHERE username = $1", p["owner"], url
        )
        await conn.execute(
            "UPDATE similar_profiles SET profile_image_url = $2 WHERE similar_username = $1", p["owner"], url
        )
    else:
        await conn.execute("UPDATE content SET thumbnail_url = $2 WHERE content_id = $1", p["owner"], url)


# Columnar (statements.py), as _SHOW_THUMBNAILS below.
_SHOW_PROFILES = statements.columnar(
    """UPDATE primary_profiles p SET profile_image_url = $2 || m.key FROM media_copies m
       WHERE p.username = ANY($1::text[]) AND m.kind = 'profile_image' AND m.owner = p.username""",
    key=None,
)
_SHOW_SIMILAR = statements.columnar(
    """UPDATE similar_profiles s SET profile_image_url = $2 || m.key FROM media_copies m
       WHERE s.primary_username = ANY($1::text[]) AND m.kind = 'profile_image'
         AND m.owner = s.similar_username""",
    key=None,
)


async def show_profile_copy(conn: asyncpg.Connection, username: str) -> None:
    await conn.execute(_SHOW_PROFILES, [username], MEDIA_PATH)


async def show_similar_copies(conn: asyncpg.Connection, primary_username: str) -> None:
    await conn.execute(_SHOW_SIMILAR, [primary_username], MEDIA_PATH)


# Columnar (statements.py): the rows of a wave's events in one statement. Any of them written twice
# gets the same value, so calls may be joined whatever they name.
_SHOW_THUMBNAILS = statements.columnar(
    """UPDATE content c SET thumbnail_url = $2 || m.key FROM media_copies m
       WHERE c.content_id = ANY($1::text[]) AND m.kind = 'reel_thumbnail' AND m.owner = c.content_id""",
    key=None,
)


async def show_thumbnail_copies(conn: asyncpg.Connection, content_ids: Sequence[str]) -> None:
    if not content_ids:
        return
    await conn.execute(_SHOW_THUMBNAILS, list(content_ids), MEDIA_PATH)
