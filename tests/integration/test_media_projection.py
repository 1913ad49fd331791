"""What the projector makes of MediaStored: the read model's profile images (the profile's own and its
listing as someone's similar account) and reel thumbnails point at the stored copy, whichever of the
copy and the profile's ingestion is projected first; a later ingestion with the provider's URL keeps
the copy; and a rebuild from the store gives the same rows."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import asyncpg

from cli.readmodels import Replay, compare_schemas, create_schema, replay_store
from libs.blobs import MEDIA_PATH, media_key
from libs.events.catalog import MediaStored, ProfileIngested, SimilarAccount, media_stream
from services.projector.handlers import Projector
from tests.integration import test_discovery_projection as discovery
from tests.integration.test_discovery_projection import all_readable
from tests.support import infra
from tests.support.projector import APRIL, append, deliver, ingested, reel

CDN = "https://scontent.cdninstagram.com"


# The discovery projection tests' connection and projector.
conn = discovery.conn
projector = discovery.projector


def stored(username: str, kind: str, owner: str, data: bytes) -> MediaStored:
    key = media_key(data, "image/jpeg")
    return MediaStored(
        username=username, kind=kind, owner=owner, source_url=f"{CDN}/{owner}.jpg", key=key,  # type: ignore[arg-type]
        content_type="image/jpeg", bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
    )  # fmt: skip


def profile_of(username: str, similar: tuple[str, ...] = ()) -> ProfileIngested:
    event = ingested(
        username,
        reels=[reel(f"{username}-1", 100, thumbnail_url=f"{CDN}/{username}-1.jpg")],
        profile_image_url=f"{CDN}/{username}.jpg",
    )
    return event.model_copy(
        update={"similar": [SimilarAccount(username=s, profile_image_url=f"{CDN}/{s}.jpg") for s in similar]}
    )


async def urls(conn: asyncpg.Connection) -> dict[str, str | None]:
    profiles = await conn.fetch("SELECT username, profile_image_url FROM readmodel.primary_profiles")
    reels = await conn.fetch("SELECT content_id, thumbnail_url FROM readmodel.content")
    similar = await conn.fetch(
        "SELECT primary_username || '>' || similar_username AS k, profile_image_url FROM readmodel.similar_profiles"
    )
    return {**dict(map(tuple, profiles)), **dict(map(tuple, reels)), **dict(map(tuple, similar))}


async def test_copies_are_shown_whichever_is_projected_first_and_kept_by_a_later_ingestion(
    conn: asyncpg.Connection, projector: Projector
) -> None:
    avatar_amy, thumb_amy, avatar_max = b"\xff\xd8\xffamy", b"\xff\xd8\xffamy-1", b"\xff\xd8\xffmax"
    # amy's profile first, then her copies.
    (amy,) = await append(conn, "amy", profile_of("amy", similar=("max",)), at=APRIL)
    await deliver(conn, projector, [amy])
    assert (await urls(conn))["amy"] == f"{CDN}/amy.jpg"  # the provider's URL while no copy exists
    copies = await append(
        conn, "amy", stored("amy", "profile_image", "amy", avatar_amy),
        stored("amy", "reel_thumbnail", "amy-1", thumb_amy), stream=media_stream("amy"),
    )  # fmt: skip
    await deliver(conn, projector, copies)
    # max's copy first, then his profile.
    (max_copy,) = await append(
        conn, "max", stored("max", "profile_image", "max", avatar_max), stream=media_stream("max")
    )
    await deliver(conn, projector, [max_copy])
    (max_,) = await append(conn, "max", profile_of("max"), at=APRIL)
    await deliver(conn, projector, [max_])

    expected = {
        "amy": MEDIA_PATH + media_key(avatar_amy, "image/jpeg"),
        "amy-1": MEDIA_PATH + media_key(thumb_amy, "image/jpeg"),
        "max": MEDIA_PATH + media_key(avatar_max, "image/jpeg"),
        "max-1": f"{CDN}/max-1.jpg",  # no copy of it
        "amy>max": MEDIA_PATH + media_key(avatar_max, "image/jpeg"),
    }
    assert await urls(conn) == expected

    # amy fetched again: the snapshot carries the provider's (new) URLs; the copies stay shown.
    again = profile_of("amy", similar=("max",))
    (later,) = await append(conn, "amy", again, at=APRIL + timedelta(hours=1))
    await deliver(conn, projector, [later])
    assert await urls(conn) == expected

    await infra.eventually(lambda: all_readable(conn), message="every event readable from the store")
    await create_schema(conn, "readmodel", "readmodel_rebuilt")
    replay = await replay_store(conn, Replay("readmodel_rebuilt"), batch_size=1)
    assert replay.unapplied == []
    diffs = await compare_schemas(conn, "readmodel", "readmodel_rebuilt")
    assert [d.name for d in diffs if not d.identical] == [], [(d.name, d.problem, d.samples) for d in diffs]
    assert {"media_copies", "primary_profiles", "similar_profiles", "content"} <= {d.name for d in diffs}
