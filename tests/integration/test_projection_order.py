"""Profiles and reels are written by profile ingestion and by analyses, whose events can reach the
projector in either order: the rows must come out the same (so a rebuild equals the live tables). And
each stream's events reach the tables once and in stream order, whatever order they are delivered in."""

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from cli.readmodels import Replay, compare_schemas, create_schema, replay_store
from libs.events import Envelope, Event, EventStore, NewEvent
from libs.events.catalog import ProfileIngestStarted, ProfileRequested, ProfileRequestPromoted, profile_stream
from libs.events.store import retry_on_conflict
from libs.runtime import ServiceRuntime
from services.projector.__main__ import build as build_projector
from services.projector.handlers import Projector
from services.projector.profile_tables import _PROFILE_COLUMNS, upsert_profile, upsert_reels
from tests.integration.test_discovery_projection import all_readable
from tests.support.infra import eventually
from tests.support.runtime import running

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


async def test_many_concurrent_writers_on_shared_streams_project_to_what_a_rebuild_gives(
    pool: asyncpg.Pool, settings
) -> None:
    """Two producers (two relays, publishing independently, so one stream's events reach the projector
    out of order) and eight writers appending to the same five streams at once; a small projector batch,
    so gaps are filled from the store again and again."""
    producers = [EventStore(producer="gateway"), EventStore(producer="profile-ingest")]
    streams = [f"shared.creator{i}" for i in range(5)]

    async def writer(w: int) -> None:
        for n in range(30):
            name = streams[(w + n // 3) % len(streams)]  # a request and its starts on one stream
            request_id = f"{w:02x}{n:06x}"
            event = (
                ProfileRequested(username=name, source="test", priority="LOW", request_id=request_id)
                if n % 3 == 0
                else ProfileIngestStarted(username=name, request_id=f"{w:02x}{n - n % 3:06x}", attempt=n % 3)
            )

            async def attempt(name: str = name, event: Event = event) -> None:
                async with pool.acquire() as conn:
                    await producers[w % 2].append(
                        conn, profile_stream(name), [NewEvent(event=event)], expected_version=None
                    )

            await retry_on_conflict(attempt, attempts=50)  # eight writers on five streams collide often

    async with running(
        ServiceRuntime("gateway", settings), ServiceRuntime("profile-ingest", settings),
        build_projector(settings, batch_size=4),
    ):  # fmt: skip
        await asyncio.gather(*(writer(w) for w in range(8)))
        expected = {profile_stream(s): await _latest(pool, s) for s in streams}
        assert sum(expected.values()) == 8 * 30

        async def caught_up() -> bool:
            rows = await pool.fetch(
                "SELECT stream_id, version FROM readmodel.stream_checkpoints WHERE stream_id = ANY($1)",
                list(expected),
            )
            return {r["stream_id"]: r["version"] for r in rows} == expected

        await eventually(caught_up, timeout_s=60, message="every stream projected to its last version")
    async with pool.acquire() as conn:
        await eventually(lambda: all_readable(conn), message="every event readable from the store")
        await create_schema(conn, "readmodel", "readmodel_again")
        replay = await replay_store(conn, Replay("readmodel_again"), batch_size=1000)
        assert replay.unapplied == []
        diffs = await compare_schemas(conn, "readmodel", "readmodel_again")
    assert [(d.name, d.samples) for d in diffs if not d.identical] == []
    assert (
        await pool.fetchval("SELECT count(*) FROM readmodel.profile_queue WHERE username = ANY($1)", streams)
        == 8 * 10
    )


async def _latest(pool: asyncpg.Pool, username: str) -> int:
    return await pool.fetchval(
        "SELECT max(stream_version) FROM eventstore.events WHERE stream_id = $1", profile_stream(username)
    )
