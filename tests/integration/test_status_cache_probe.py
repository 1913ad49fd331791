"""The status cache's parts against a real read model: one checkpoint query for every read waiting at
once, entries served only at their stream's projected version, a bounded LRU."""

from __future__ import annotations

import asyncio

import asyncpg
from prometheus_client import REGISTRY

from libs.events.db import FairPool
from services.gateway.status_cache import Entry, StatusCache, VersionProbe


def probes() -> float:
    return REGISTRY.get_sample_value("viralspot_status_cache_probes_total") or 0.0


async def set_checkpoint(pool: asyncpg.Pool, stream: str, version: int) -> None:
    await pool.execute(
        """INSERT INTO readmodel.stream_checkpoints (stream_id, version) VALUES ($1, $2)
           ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version""",
        stream,
        version,
    )


async def test_reads_waiting_at_once_share_one_query(pool: asyncpg.Pool) -> None:
    for i in range(10):
        await set_checkpoint(pool, f"analysis-p{i}", i + 1)
    probe = VersionProbe(FairPool(pool, 4))
    before = probes()
    versions = await asyncio.gather(*(probe.version(f"analysis-p{i % 12}") for i in range(60)))
    assert versions == [(i % 12) + 1 if i % 12 < 10 else 0 for i in range(60)]
    assert probes() - before == 1
    # A read after a commit sees it: its query is sent after it asked.
    await set_checkpoint(pool, "analysis-p0", 7)
    assert await probe.version("analysis-p0") == 7
    assert probes() - before == 2


async def test_an_entry_is_served_only_at_its_streams_projected_version(pool: asyncpg.Pool) -> None:
    cache = StatusCache(FairPool(pool, 4), capacity=3)
    await set_checkpoint(pool, "analysis-e", 2)
    cache.keep("job", "e", Entry("analysis-e", 2, body=b"two"))
    cache.keep("job", "e", Entry("analysis-e", 1, body=b"one"))  # a slower read's older answer
    found = await cache.current("job", "e")
    assert found is not None and found.body == b"two"
    await set_checkpoint(pool, "analysis-e", 3)
    assert await cache.current("job", "e") is None  # the projector moved on: dropped
    assert len(cache) == 0
    for key in "abcd":
        await set_checkpoint(pool, f"analysis-{key}", 1)
        cache.keep("job", key, Entry(f"analysis-{key}", 1, body=key.encode()))
    assert len(cache) == 3 and await cache.current("job", "a") is None  # the least recently used went
    assert [(await cache.current("job", k)).body for k in "bcd"] == [b"b", b"c", b"d"]  # type: ignore[union-attr]
    off = StatusCache(FairPool(pool, 4), capacity=0)
    off.keep("job", "b", Entry("analysis-b", 1, body=b"b"))
    assert not off.enabled and len(off) == 0
