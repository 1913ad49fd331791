"""Profiles and reels are written by profile ingestion and by analyses, whose events can reach the
projector in either order: the rows must come out the same (so a rebuild equals the live tables). And
each stream's events reach the tables once and in stream order, whatever order they are delivered in."""

from datetime import UTC, datetime, timedelta

import asyncpg

from libs.events import Envelope, EventStore, NewEvent
from libs.events.catalog import ProfileIngestStarted, ProfileRequested, ProfileRequestPromoted, profile_stream
from services.projector.handlers import Projector
from services.projector.profile_tables import _PROFILE_COLUMNS, upsert_profile, upsert_reels

EARLY = datetime(2026, 5, 1, tzinfo=UTC)
LATE = EARLY + timedelta(minutes=5)


def snapshot(followers: int, views: int, transcript: str | None) -> tuple[dict, list[dict]]:
    profile = {c: 0 for c in _PROFILE_COLUMNS} | {
        "is_verified": False,
        "is_private": False,
        "bio": "",
        "account_type": "creator",
        "profile_image_url": None,
    }
    profile |= {"username": "maya", "profile_name": "Maya", "followers": followers, "median_views": views}
    reels = [
        {
            "content_id": "c1",
            "shortcode": "s1",
            "url": "https://x/s1",
            "view_count": views,
            "like_count": 10,
            "comment_count": 1,
            "outlier_score": 1.5,
            "engagement_rate": 0.02,
            "transcript": transcript,
        }
    ]
    return profile, reels


async def apply(conn: asyncpg.Connection, order: list[tuple[datetime, tuple[dict, list[dict]]]]) -> tuple:
    async with conn.transaction():
        await conn.execute("TRUNCATE primary_profiles, content")
        for at, (profile, reels) in order:
            await upsert_profile(conn, profile, at)
            await upsert_reels(conn, "maya", reels, at)
        profile_row = await conn.fetchrow("SELECT * FROM primary_profiles WHERE username = 'maya'")
        reel_row = await conn.fetchrow("SELECT * FROM content WHERE content_id = 'c1'")
    return dict(profile_row), dict(reel_row)


async def test_the_latest_snapshot_wins_whatever_the_order(database_url: str) -> None:
    early = (EARLY, snapshot(1000, 500, "spoken words"))
    late = (LATE, snapshot(1200, 800, None))
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET search_path TO readmodel")
        in_order = await apply(conn, [early, late])
        reversed_ = await apply(conn, [late, early])
    finally:
        await conn.close()
    assert in_order == reversed_
    profile, reel = in_order
    assert profile["followers"] == 1200 and profile["created_at"] == EARLY and profile["updated_at"] == LATE
    # The later snapshot had no transcript: the one fetched earlier is kept.
    assert reel["view_count"] == 800 and reel["transcript"] == "spoken words" and reel["transcript_available"]


async def test_an_event_ahead_of_its_stream_pulls_the_missing_ones_first_and_duplicates_are_skipped(
    pool: asyncpg.Pool,
) -> None:
    store = EventStore(producer="gateway")
    async with pool.acquire() as conn:
        requested, promoted, started = await store.append(
            conn,
            profile_stream("maya"),
            [
                NewEvent(
                    event=ProfileRequested(
                        username="maya", source="crawler", priority="LOW", request_id="0000000a"
                    )
                ),
                NewEvent(
                    event=ProfileRequestPromoted(username="maya", request_id="0000000a", priority="HIGH")
                ),
                NewEvent(event=ProfileIngestStarted(username="maya", request_id="0000000a", attempt=1)),
            ],
            expected_version=0,
        )
        projector = Projector(store)

        async def deliver(*envelopes: Envelope) -> None:
            async with conn.transaction():
                await projector.apply_batch(conn, [(e, e.event()) for e in envelopes])

        await deliver(started)  # its two predecessors are still in flight
        row = await conn.fetchrow("SELECT priority, status, attempts FROM readmodel.profile_queue")
        assert dict(row) == {"priority": "HIGH", "status": "PROCESSING", "attempts": 1}
        assert projector.applied == 3

        await deliver(requested, promoted, started)  # the late deliveries, and a redelivery
        assert projector.applied == 3
        assert await conn.fetchval("SELECT version FROM readmodel.stream_checkpoints") == 3
        assert dict(
            await conn.fetchrow("SELECT priority, status, attempts FROM readmodel.profile_queue")
        ) == dict(row)
