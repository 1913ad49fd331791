"""The S3-compatible backend (MinIO in docker compose, or S3 itself), on aiobotocore: botocore's request
signing and retries on aiohttp, the HTTP client every service already runs, so no thread pool and no
second event-loop integration."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from libs.blobs.store import Blob, BlobStoreUnavailable, checked_key

_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3BlobStore:
    """Objects named by their key in one bucket. The client opens on first use and keeps its pooled
    connections until close()."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.bucket = bucket
        self._client_args: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
            # MinIO and most S3-compatible servers address buckets by path, not by a DNS name per bucket.
            "config": AioConfig(
                s3={"addressing_style": "path"},
                connect_timeout=timeout_s,
                read_timeout=timeout_s,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        }
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._opening = asyncio.Lock()

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    stack = AsyncExitStack()
                    self._client = await stack.enter_async_context(
                        get_session().create_client("s3", **self._client_args)
                    )
                    self._stack = stack
        return self._client

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        key = checked_key(key)
        client = await self._s3()
        async with _answering(f"store {key}", missing_ok=False):
            await client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    async def get(self, key: str) -> Blob | None:
        key = checked_key(key)
        client = await self._s3()
        async with _answering(f"read {key}") as missing:
            answer = await client.get_object(Bucket=self.bucket, Key=key)
            async with answer["Body"] as body:
                data = await body.read()
        if missing:
            return None
        return Blob(data, answer.get("ContentType") or "application/octet-stream")

    async def exists(self, key: str) -> bool:
        key = checked_key(key)
        client = await self._s3()
        async with _answering(f"look up {key}") as missing:
            await client.head_object(Bucket=self.bucket, Key=key)
        return not missing

    async def close(self) -> None:
        if self._stack is not None:
            stack, self._stack, self._client = self._stack, None, None
            await stack.aclose()


class _Missing:
    """Set when the store answered that the key does not exist."""

    def __init__(self) -> None:
        self.value = False

    def __bool__(self) -> bool:
        return self.value


@asynccontextmanager
async def _answering(what: str, missing_ok: bool = True) -> AsyncIterator[_Missing]:
    """A missing key is an answer (the flag); any other refusal or failure is BlobStoreUnavailable."""
    missing = _Missing()
    try:
        yield missing
    except ClientError as exc:
        if not (missing_ok and _is_missing(exc)):
            raise BlobStoreUnavailable(f"cannot {what}: {exc}") from exc
        missing.value = True
    except BotoCoreError as exc:
        raise BlobStoreUnavailable(f"cannot {what}: {exc}") from exc


def _is_missing(exc: ClientError) -> bool:
    # By the code alone: a missing bucket is a 404 too, and is a broken store, not a missing copy.
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING
