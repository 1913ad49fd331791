"""GET /api/media/{key}: a stored copy of a provider image (profile-ingest's media.py keeps them).

Keys are the SHA-256 of the bytes, so a key's answer never changes: it is cacheable for good
(immutable, a year), its ETag is the hash itself, and a matching If-None-Match is answered 304 without
reading the store."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from libs.blobs import BlobStore, BlobStoreUnavailable, MediaStoreSettings, is_media_key
from services.gateway.errors import ApiError, service_unavailable

MEDIA_STORE = web.AppKey("media_store", BlobStore)
CACHE_CONTROL = "public, max-age=31536000, immutable"


def attach(app: web.Application, settings: MediaStoreSettings) -> None:
    async def media_store(app: web.Application) -> AsyncIterator[None]:
        app[MEDIA_STORE] = settings.blob_store()
        yield
        await app[MEDIA_STORE].close()

    app.cleanup_ctx.append(media_store)


def _etag(key: str) -> str:
    return f'"{key.split(".", 1)[0]}"'


def _matches(if_none_match: str, etag: str) -> bool:
    # RFC 9110 13.1.2: a list of tags compared weakly, or "*".
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


async def media(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    if not is_media_key(key):
        raise ApiError(404, "MEDIA_NOT_FOUND", "No stored image has this key.")
    etag = _etag(key)
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
    if _matches(request.headers.get("If-None-Match", ""), etag):
        return web.Response(status=304, headers=headers)
    try:
        blob = await request.app[MEDIA_STORE].get(key)
    except BlobStoreUnavailable:
        raise service_unavailable("The media store") from None
    if blob is None:
        raise ApiError(404, "MEDIA_NOT_FOUND", "No stored image has this key.")
    # Bytes from outside, though checked to be an image: the browser must not read them as anything else.
    headers.update({"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'"})
    return web.Response(body=blob.data, content_type=blob.content_type, headers=headers)
