"""Both media-store backends keep, hand back and report missing copies alike: the directory of `make run`,
and the S3 backend against a local server speaking S3's protocol (moto's server mode, the real signed
HTTP requests aiobotocore sends to MinIO or S3)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiobotocore.session import get_session
from moto.server import ThreadedMotoServer

from libs.blobs import BlobStore, BlobStoreUnavailable, FileBlobStore, MediaStoreSettings, media_key
from libs.blobs.s3 import S3BlobStore
from tests.support import infra

PNG = b"\x89PNG\r\n\x1a\n" + b"pretend pixels"
BUCKET = "viralspot-media-test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=infra.free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


async def _create_bucket(endpoint: str, bucket: str) -> None:
    async with get_session().create_client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test-secret",
    ) as client:  # fmt: skip
        await client.create_bucket(Bucket=bucket)


@pytest.fixture(params=["file", "s3"])
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "file":
        store: BlobStore = MediaStoreSettings(media_store="file", media_dir=str(tmp_path)).blob_store()
        assert isinstance(store, FileBlobStore)
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = infra.unique("media").replace("_", "-").lower()
        await _create_bucket(endpoint, bucket)
        store = MediaStoreSettings(
            media_store="s3", media_s3_endpoint_url=endpoint, media_s3_bucket=bucket,
            media_s3_access_key_id="test", media_s3_secret_access_key="test-secret",
        ).blob_store()  # fmt: skip
        assert isinstance(store, S3BlobStore)
    yield store
    await store.close()


async def test_a_stored_copy_is_read_back_with_its_type(blobs: BlobStore) -> None:
    key = media_key(PNG, "image/png")
    assert key == hashlib.sha256(PNG).hexdigest() + ".png"
    assert not await blobs.exists(key)
    await blobs.put(key, PNG, "image/png")
    assert await blobs.exists(key)
    blob = await blobs.get(key)
    assert blob is not None and blob.data == PNG and blob.content_type == "image/png"
    await blobs.put(key, PNG, "image/png")  # the same bytes again: harmless
    assert (await blobs.get(key)) == blob


async def test_a_missing_key_is_none_not_an_error(blobs: BlobStore) -> None:
    key = "0" * 64 + ".jpg"
    assert await blobs.get(key) is None
    assert await blobs.exists(key) is False


@pytest.mark.parametrize("key", ["../../etc/passwd", "ab/" + "0" * 64 + ".png", "0" * 64 + ".html", ""])
async def test_only_media_keys_reach_a_path_or_an_object_name(blobs: BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="not a media key"):
        await blobs.get(key)
    with pytest.raises(ValueError, match="not a media key"):
        await blobs.put(key, PNG, "image/png")


async def test_a_bucket_that_does_not_exist_is_an_unavailable_store_not_a_missing_key(
    s3_endpoint: str,
) -> None:
    store = S3BlobStore(
        bucket="no-such-bucket-here", endpoint_url=s3_endpoint, access_key_id="test", secret_access_key="x"
    )
    try:
        with pytest.raises(BlobStoreUnavailable):
            await store.put(media_key(PNG, "image/png"), PNG, "image/png")
    finally:
        await store.close()


async def test_an_s3_server_that_is_down_is_an_unavailable_store() -> None:
    store = S3BlobStore(
        bucket=BUCKET, endpoint_url=f"http://127.0.0.1:{infra.free_port()}", access_key_id="test",
        secret_access_key="x", timeout_s=1,
    )  # fmt: skip
    try:
        with pytest.raises(BlobStoreUnavailable):
            await store.get(media_key(PNG, "image/png"))
    finally:
        await store.close()


async def test_reading_from_a_bucket_that_does_not_exist_is_an_unavailable_store(s3_endpoint: str) -> None:
    store = S3BlobStore(
        bucket="no-such-bucket-here", endpoint_url=s3_endpoint, access_key_id="test", secret_access_key="x"
    )
    try:
        with pytest.raises(BlobStoreUnavailable):
            await store.get(media_key(PNG, "image/png"))
    finally:
        await store.close()
