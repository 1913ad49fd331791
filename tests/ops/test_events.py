"""`viralspot events tail/stream/chain/replay` against the real store and broker."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import asyncpg
import orjson

from libs.events import EventStore, NewEvent, Topology
from libs.events.catalog import ProfileIngestStarted, ProfileRequested, analysis_stream
from tests.ops.conftest import VIRALSPOT, Filled, viralspot
from tests.support.infra import queue_depth

gateway = EventStore(producer="gateway")
ingest = EventStore(producer="profile-ingest")


async def request(pool: asyncpg.Pool, username: str, correlation: uuid.UUID | None = None) -> NewEvent:
    new = NewEvent(
        event=ProfileRequested(
            username=username, source="test", priority="HIGH", request_id=uuid.uuid4().hex[:8]
        )
    )
    async with pool.acquire() as conn:
        await gateway.append(
            conn, f"profile-{username}", [new], expected_version=None, correlation_id=correlation
        )
    return new


async def started(pool: asyncpg.Pool, username: str) -> NewEvent:
    new = NewEvent(event=ProfileIngestStarted(username=username, request_id="0000abcd", attempt=1))
    async with pool.acquire() as conn:
        await ingest.append(conn, f"profile-{username}", [new], expected_version=None)
    return new


async def test_tail_follows_new_events_through_its_filters(
    pool: asyncpg.Pool, cli_env: dict[str, str]
) -> None:
    before = await request(pool, "tail.before")
    proc = await asyncio.create_subprocess_exec(
        *(VIRALSPOT, "events", "tail", "--json", "--limit", "2"),
        *("--type", "ProfileRequested", "--type", "ProfileRequestPromoted", "--stream", "profile-tail.*"),
        env=cli_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        ready = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert b"following the event store" in ready
        first = await request(pool, "tail.one")
        await started(pool, "tail.one")  # another type
        await request(pool, "other.stream")  # another stream
        second = await request(pool, "tail.two")
        out = await asyncio.wait_for(proc.stdout.read(), 30)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    seen = [orjson.loads(line) for line in out.decode().splitlines()]
    assert [e["event_id"] for e in seen] == [str(first.event_id), str(second.event_id)]
    assert before.event_id not in {uuid.UUID(e["event_id"]) for e in seen}
    assert [e["stream_id"] for e in seen] == ["profile-tail.one", "profile-tail.two"]


async def test_tail_from_start_by_correlation_and_stream_history(
    pool: asyncpg.Pool, cli_env: dict[str, str]
) -> None:
    correlation = uuid.uuid4()
    ours = [await request(pool, "corr.one", correlation), await request(pool, "corr.two", correlation)]
    await request(pool, "corr.three")
    tailed = await viralspot(
        cli_env,
        "events",
        "tail",
        "--from-start",
        "--correlation",
        str(correlation),
        "--for",
        "1.5",
        "--poll",
        "0.2",
    )
    assert tailed.code == 0, tailed.stderr
    lines = tailed.stdout.splitlines()
    assert len(lines) == 2 and all(str(correlation) in line for line in lines)
    assert [str(e.event_id) in line for e, line in zip(ours, lines, strict=True)] == [True, True]

    await started(pool, "corr.one")
    history = await viralspot(cli_env, "events", "stream", "profile-corr.one")
    assert history.code == 0, history.stderr
    assert [line.split()[1] for line in history.stdout.splitlines()] == [
        "ProfileRequested",
        "ProfileIngestStarted",
    ]
    assert "profile-corr.one@2" in history.stdout.splitlines()[1]
    missing = await viralspot(cli_env, "events", "stream", "profile-nobody")
    assert missing.code == 2 and "no events" in missing.stderr


async def test_chain_of_an_analysis_request_lists_every_event_to_completion_in_order(
    filled: Filled, pool: asyncpg.Pool, cli_env: dict[str, str]
) -> None:
    async with pool.acquire() as conn:
        stream = await gateway.read_stream(conn, analysis_stream(filled.queue_id))
    requested = stream[0]
    assert requested.event_type == "AnalysisRequested"
    result = await viralspot(cli_env, "events", "chain", "--json", str(requested.correlation_id))
    assert result.code == 0, result.stderr
    chain = [orjson.loads(line) for line in result.stdout.splitlines()]
    types = [e["event_type"] for e in chain]
    assert types[0] == "AnalysisRequested" and types[-1] == "AnalysisCompleted"
    assert {"AnalysisStarted", "ProgressUpdated", "CompetitorStatusChanged", "ContentFetched"} <= set(types)
    # every event of the job's run is in the chain, in stream order
    in_stream = [e["event_id"] for e in chain if e["stream_id"] == requested.stream_id]
    assert in_stream == [str(e.event_id) for e in stream]
    assert {e["producer"] for e in chain} >= {"gateway", "viral-analysis"}
    offsets = [e["offset_ms"] for e in chain]
    assert offsets[0] == 0 and offsets == sorted(offsets)
    assert all(e["delta_prev_ms"] >= 0 for e in chain)
    # a cause, when named, comes earlier in the chain
    assert all(e["caused_by"] is None or e["caused_by"] < e["index"] for e in chain)
    assert all(e["delta_cause_ms"] is None or e["delta_cause_ms"] >= 0 for e in chain)

    by_session = await viralspot(cli_env, "events", "chain", "--analysis", filled.session_id)
    assert by_session.code == 0, by_session.stderr
    lines = by_session.stdout.splitlines()
    assert lines[0].startswith(f"correlation {requested.correlation_id}: {len(chain)} events")
    rows = [line.split() for line in lines[2:]]
    assert [row[6] for row in rows] == types  # '#', offset, +prev, cause, +cause, producer, event type
    assert rows[0][5] == "gateway" and rows[-1][5] == "viral-analysis"


async def test_replay_publishes_to_one_consumer_queue_and_can_reset_its_inbox(
    pool: asyncpg.Pool,
    amqp: aio_pika.abc.AbstractRobustConnection,
    topology: Topology,
    cli_env: dict[str, str],
) -> None:
    requested = await request(pool, "replay.me")
    await started(pool, "replay.me")
    await pool.execute(
        "INSERT INTO eventstore.inbox (consumer, event_id) VALUES ('profile-ingest', $1), ('crawler', $1)",
        requested.event_id,
    )
    result = await viralspot(
        cli_env,
        "events",
        "replay",
        "--stream",
        "profile-replay.me",
        "--to",
        "profile-ingest",
        "--reset-inbox",
    )
    assert result.code == 0, result.stderr
    assert "2 events selected, 1 bound to profile-ingest" in result.stdout
    assert "1 handled event ids forgotten" in result.stdout
    channel = await amqp.channel()
    try:
        assert await queue_depth(channel, topology.queue("profile-ingest")) == 1
        for other in ("projector", "crawler", "viral-analysis"):
            assert await queue_depth(channel, topology.queue(other)) == 0, other
        queue = await channel.declare_queue(topology.queue("profile-ingest"), passive=True)
        message = await queue.get(timeout=5)
        assert message is not None
        await message.ack()
    finally:
        await channel.close()
    assert message.message_id == str(requested.event_id) and message.type == "ProfileRequested"
    assert (
        message.priority == 9 and message.headers["stream_id"] == "profile-replay.me"
    )  # as the relay sends it
    inbox = await pool.fetch("SELECT consumer FROM eventstore.inbox WHERE event_id = $1", requested.event_id)
    assert [r["consumer"] for r in inbox] == ["crawler"]

    unknown = await viralspot(cli_env, "events", "replay", "--stream", "profile-replay.me", "--to", "nobody")
    assert unknown.code == 2 and "unknown consumer" in unknown.stderr
