"""The simulator's image host: its image URLs lead to PNG bytes once it is told its own /cdn, the same
path always gives the same bytes, and its switches make them expire (403) or go wrong."""

from __future__ import annotations

import struct
import zlib

import aiohttp

from infra.simulator.cdn import OVERSIZED_BYTES
from libs.instagram import InstagramProvider
from tests.provider.provider_harness import RunningSimulator


def is_png_of(data: bytes, side: int) -> bool:
    """The signature, then a well-formed IHDR of that size whose CRC matches."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    length, kind = struct.unpack(">I4s", data[8:16])
    body = data[16 : 16 + length]
    (crc,) = struct.unpack(">I", data[16 + length : 20 + length])
    return (
        kind == b"IHDR" and struct.unpack(">II", body[:8]) == (side, side) and crc == zlib.crc32(kind + body)
    )


async def get(url: str) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.content_type, await response.read()


async def test_image_urls_point_at_the_unreachable_cdn_unless_told_their_own(
    simulator: RunningSimulator, provider: InstagramProvider
) -> None:
    before = await provider.get_profile("fitwithmaya")
    assert before.profile_pic_url is not None and before.profile_pic_url.startswith(
        "https://cdn.simulator.invalid/"
    )
    await simulator.control("config", {"cdn_url": f"{simulator.base_url}/cdn"})
    after = await provider.get_profile("fitwithmaya")
    (first, *_) = await provider.get_reels("fitwithmaya", limit=3)
    assert after.profile_pic_url == before.profile_pic_url.replace(
        "https://cdn.simulator.invalid", f"{simulator.base_url}/cdn"
    )
    assert first.thumbnail_url is not None and first.thumbnail_url.startswith(
        f"{simulator.base_url}/cdn/thumbs/"
    )

    status, kind, avatar = await get(after.profile_pic_url)
    assert (status, kind) == (200, "image/png") and is_png_of(avatar, 32)
    assert (await get(after.profile_pic_url))[2] == avatar  # the same path, the same bytes
    assert (await get(first.thumbnail_url))[2] != avatar


async def test_the_cdn_switches_expire_or_spoil_the_images(simulator: RunningSimulator) -> None:
    url = f"{simulator.base_url}/cdn/avatars/fitwithmaya_150.jpg"
    await simulator.control("config", {"images": "expired"})
    assert (await get(url))[:2] == (403, "text/plain")
    await simulator.control("config", {"images": "not_image"})
    assert (await get(url))[:2] == (200, "text/html")
    await simulator.control("config", {"images": "oversized"})
    status, kind, data = await get(url)
    assert (status, kind) == (200, "image/png") and len(data) > OVERSIZED_BYTES and is_png_of(data, 32)
    await simulator.control("config", {"images": "served"})
    assert (await get(url))[0] == 200
    stats = await simulator.stats()
    assert stats["by_endpoint"]["/cdn"] == {"total": 4, "403": 1, "200": 3}


async def test_bad_image_switches_are_refused(simulator: RunningSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        for body in ({"images": "sometimes"}, {"cdn_url": "ftp://x"}):
            async with session.post(f"{simulator.base_url}/__sim/config", json=body) as response:
                assert response.status == 400, body
