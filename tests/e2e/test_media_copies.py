"""Copies of the provider's images: profile-ingest stores the profile image and reel thumbnails it is
given, the projector points the read model at the copies, the gateway serves them with caching headers,
and they outlive the provider URLs (the simulator's CDN then answers 403). Until a copy is stored the
answers carry the provider's URL."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY

from libs.blobs import MEDIA_PATH, FileBlobStore
from libs.events import EventStore
from libs.events.catalog import profile_stream
from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.profile_ingest.__main__ import build as build_ingest
from services.profile_ingest.media import CONSUMER as MEDIA_CONSUMER
from services.profile_ingest.settings import IngestSettings
from tests.conftest import make_settings
from tests.integration.test_relay_and_restarts import projector_runtime
from tests.provider.provider_harness import RunningSimulator
from tests.support import infra
from tests.support.runtime import running

REELS = 6


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
async def sim(start_simulator) -> RunningSimulator:
    simulator = await start_simulator(seed=7)
    await simulator.control("config", {"cdn_url": f"{simulator.base_url}/cdn"})
    return simulator


@pytest.fixture
async def api(database_url, amqp_url, topology, amqp, media_dir, aiohttp_client) -> AsyncIterator[TestClient]:
    settings = make_settings(GatewaySettings, database_url, amqp_url, topology, media_dir=str(media_dir))
    gateway = ServiceRuntime("gateway", settings, stateless_db=True)
    async with running(gateway, projector_runtime(settings)):
        yield await aiohttp_client(create_app(gateway, settings))


def ingest_service(database_url, amqp_url, topology, sim, media_dir, **overrides: Any) -> ServiceRuntime:
    options: dict[str, Any] = {
        "ingest_reels_limit": REELS,
        "ingest_posts_limit": 0,
        "ingest_fetch_similar": False,
        "media_dir": str(media_dir),
        "media_allowed_hosts": ["127.0.0.1"],
        "media_allow_loopback": True,
        **overrides,
    }
    settings = make_settings(IngestSettings, database_url, amqp_url, topology, **options)
    return build_ingest(settings, sim.provider())


@pytest.fixture
def ingest_runtime(database_url, amqp_url, topology, sim, media_dir):
    def make(**overrides: Any) -> ServiceRuntime:
        return ingest_service(database_url, amqp_url, topology, sim, media_dir, **overrides)

    return make


@pytest.fixture
async def start_ingest(ingest_runtime):
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> ServiceRuntime:
            runtime = ingest_runtime(**overrides)
            await stack.enter_async_context(running(runtime))
            return runtime

        yield start


async def data(api: TestClient, path: str) -> Any:
    resp = await api.get(path)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["data"]


async def ingest(api: TestClient, username: str) -> None:
    await api.post(f"/api/profile/{username}/request")

    async def completed() -> bool:
        resp = await api.get(f"/api/profile/{username}/status")
        return resp.status == 200 and (await resp.json())["data"]["status"] == "completed"

    await infra.eventually(completed, message=f"{username} ingested")


async def images(api: TestClient, username: str) -> list[str]:
    """The profile image URL, then each reel's thumbnail URL, as the gateway answers them."""
    profile = await data(api, f"/api/profile/{username}")
    reels = (await data(api, f"/api/profile/{username}/reels?limit=100&sort_by=recent"))["reels"]
    return [profile["profile_image_url"], *(reel["thumbnail_url"] for reel in reels)]


async def wait_all_stored(api: TestClient, username: str) -> list[str]:
    async def stored() -> list[str] | None:
        urls = await images(api, username)
        return urls if all(url.startswith(MEDIA_PATH) for url in urls) else None

    return await infra.eventually(stored, message=f"copies of {username}'s images")


async def media_events(pool: asyncpg.Pool, username: str) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM eventstore.events WHERE stream_id = $1 AND event_type = 'MediaStored'",
        f"media-{username}",
    )


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_stored_images_are_served_and_outlive_the_provider_urls(
    api: TestClient, ingest_runtime, start_ingest, sim: RunningSimulator, pool, media_dir: Path
) -> None:
    # Ingested with no copies made yet: the answers carry the provider's URLs.
    async with running(ingest_runtime(media_copies=False)):
        await ingest(api, "fitwithmaya")
        pending = await images(api, "fitwithmaya")
    assert len(pending) == REELS + 1
    assert all(url.startswith(f"{sim.base_url}/cdn/") for url in pending), pending

    stored_before = metric("viralspot_media_stored_total", kind="reel_thumbnail")
    bytes_before = metric("viralspot_media_stored_bytes_total", kind="profile_image")
    await start_ingest()  # its media consumer takes the ProfileIngested waiting in its queue
    urls = await wait_all_stored(api, "fitwithmaya")
    assert metric("viralspot_media_stored_total", kind="reel_thumbnail") - stored_before == REELS
    assert metric("viralspot_media_stored_bytes_total", kind="profile_image") > bytes_before
    assert await media_events(pool, "fitwithmaya") == REELS + 1

    # The provider's URLs expire.
    await sim.control("config", {"images": "expired"})
    async with sim._session.get(pending[0]) as expired:
        assert expired.status == 403
    for url in urls:
        resp = await api.get(url)
        assert resp.status == 200, url
        assert resp.content_type == "image/png"
        body = await resp.read()
        assert body.startswith(b"\x89PNG")
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        key = url.removeprefix(MEDIA_PATH)
        assert resp.headers["ETag"] == f'"{key.split(".")[0]}"'
        assert await FileBlobStore(media_dir).exists(key)
        again = await api.get(url, headers={"If-None-Match": resp.headers["ETag"]})
        assert again.status == 304 and await again.read() == b""
    other = await api.get(urls[0], headers={"If-None-Match": '"' + "0" * 64 + '"'})
    assert other.status == 200
    missing = await api.get(MEDIA_PATH + "f" * 64 + ".png")
    assert missing.status == 404 and (await missing.json())["error_code"] == "MEDIA_NOT_FOUND"
    assert (await api.get(MEDIA_PATH + "..%2F..%2Fetc%2Fpasswd")).status == 404


async def redeliver_ingestion(amqp, topology, pool: asyncpg.Pool, username: str) -> None:
    """The profile's ProfileIngested handed to the media consumer once more, as a redelivery would."""
    store = EventStore("test")
    async with pool.acquire() as conn:
        (ingested,) = [
            e
            for e in await store.read_stream(conn, profile_stream(username))
            if e.event_type == "ProfileIngested"
        ]
    channel = await amqp.channel()
    message = aio_pika.Message(
        body=ingested.to_json(), type=ingested.event_type, message_id=str(ingested.event_id)
    )
    await channel.default_exchange.publish(message, routing_key=topology.queue(MEDIA_CONSUMER))
    await channel.close()


async def test_a_profile_given_again_with_the_same_images_stores_and_announces_nothing_twice(
    api: TestClient, start_ingest, sim: RunningSimulator, pool, amqp, topology
) -> None:
    await start_ingest()
    await ingest(api, "chef_leo")
    await wait_all_stored(api, "chef_leo")
    assert await media_events(pool, "chef_leo") == REELS + 1

    async def cdn_hits() -> int:
        return (await sim.stats())["by_endpoint"]["/cdn"]["total"]

    # The same URLs again (a redelivery, a fetch whose images did not move): nothing is fetched.
    hits = await cdn_hits()
    handled = metric("viralspot_events_consumed_total", service="profile-ingest", consumer=MEDIA_CONSUMER,
                     event_type="ProfileIngested", outcome="handled")  # fmt: skip
    await redeliver_ingestion(amqp, topology, pool, "chef_leo")
    await infra.eventually(
        lambda: _true(metric("viralspot_events_consumed_total", service="profile-ingest", consumer=MEDIA_CONSUMER,
                             event_type="ProfileIngested", outcome="handled") > handled),
        message="the redelivery handled",
    )  # fmt: skip
    assert await cdn_hits() == hits

    # New signed URLs for the same images: fetched, found stored already, neither stored nor announced again.
    await pool.execute(
        "UPDATE ingest.media SET source_url = source_url || '?oe=old' WHERE username = 'chef_leo'"
    )
    unchanged = metric("viralspot_media_unchanged_total", kind="reel_thumbnail")
    await redeliver_ingestion(amqp, topology, pool, "chef_leo")
    await infra.eventually(
        lambda: _true(metric("viralspot_media_unchanged_total", kind="reel_thumbnail") - unchanged == REELS),
        message="the same bytes found stored",
    )
    assert await cdn_hits() == hits + REELS + 1
    assert await media_events(pool, "chef_leo") == REELS + 1
    assert len(list(await _media_files(pool))) == REELS + 1


async def _media_files(pool: asyncpg.Pool) -> list[str]:
    return [
        r["key"] for r in await pool.fetch("SELECT DISTINCT key FROM ingest.media WHERE status = 'stored'")
    ]


@pytest.mark.parametrize(("answer", "reason"), [("oversized", "too_large"), ("not_image", "not_image")])
async def test_an_oversized_or_non_image_answer_is_refused_counted_and_not_stored(
    api: TestClient, start_ingest, sim: RunningSimulator, pool, media_dir: Path, answer: str, reason: str
) -> None:
    await sim.control("config", {"images": answer})
    refused = metric("viralspot_media_failed_total", kind="reel_thumbnail", reason=reason)
    await start_ingest(media_max_bytes=1024 * 1024)
    await ingest(api, "glow.mia")
    await infra.eventually(
        lambda: _true(
            metric("viralspot_media_failed_total", kind="reel_thumbnail", reason=reason) - refused == REELS
        ),
        message=f"{answer} answers refused",
    )
    assert await pool.fetchval("SELECT count(*) FROM ingest.media WHERE status = 'refused'") == REELS + 1
    assert await media_events(pool, "glow.mia") == 0
    assert stored_files(media_dir) == []
    assert all(url.startswith(f"{sim.base_url}/cdn/") for url in await images(api, "glow.mia"))


async def test_an_image_on_a_host_not_allowed_is_not_fetched(
    api: TestClient, start_ingest, sim: RunningSimulator, pool
) -> None:
    # The same simulator, named by another host than the one allowed.
    await sim.control("config", {"cdn_url": sim.base_url.replace("127.0.0.1", "localhost") + "/cdn"})
    refused = metric("viralspot_media_failed_total", kind="profile_image", reason="host_not_allowed")
    await start_ingest()
    await ingest(api, "code.sam")
    await infra.eventually(
        lambda: _true(
            metric("viralspot_media_failed_total", kind="profile_image", reason="host_not_allowed") > refused
        ),
        message="the profile image refused",
    )
    assert "/cdn" not in (await sim.stats())["by_endpoint"]
    assert await media_events(pool, "code.sam") == 0


async def _true(value: bool) -> bool:
    return value


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
