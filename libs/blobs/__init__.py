"""Stored copies of the provider's images (profile pictures, reel thumbnails, whose URLs expire): keys
(keys.py), the store interface with its filesystem backend (store.py), the S3-compatible backend
(s3.py) and the settings that choose one (settings.py)."""

from libs.blobs.keys import MEDIA_PATH, is_media_key, media_key, media_url
from libs.blobs.settings import MediaStoreSettings
from libs.blobs.store import Blob, BlobStore, BlobStoreUnavailable, FileBlobStore

__all__ = [
    "MEDIA_PATH",
    "Blob",
    "BlobStore",
    "BlobStoreUnavailable",
    "FileBlobStore",
    "MediaStoreSettings",
    "is_media_key",
    "media_key",
    "media_url",
]
