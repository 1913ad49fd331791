"""One small interface for stored media copies, and its local-filesystem backend (`make run`'s default).

Keys are content-addressed (keys.py), so a put of a key that exists writes the same bytes again: a
backend may skip it, and two workers storing one image at once cannot corrupt it.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from libs.blobs.keys import content_type_of, is_media_key


@dataclass(frozen=True)
class Blob:
    data: bytes
    content_type: str


class BlobStoreUnavailable(Exception):
    """The store could not answer (a network error, a refused request): not the same as a missing key."""


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> Blob | None:
        """The copy, or None when the store has no such key."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def close(self) -> None: ...


def checked_key(key: str) -> str:
    """Keys reach a path or an object name only in their one shape: no traversal, no other bucket."""
    if not is_media_key(key):
        raise ValueError(f"not a media key: {key[:80]!r}")
    return key


class FileBlobStore:
    """Files under `root`, fanned out by the key's first two characters. File I/O runs in a thread, so
    the event loop never waits on the disk; a put writes a temporary file and renames it into place,
    so a reader sees the whole copy or none."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        key = checked_key(key)
        return self.root / key[:2] / key

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(_write_atomically, path, data)

    async def get(self, key: str) -> Blob | None:
        path = self._path(key)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BlobStoreUnavailable(f"cannot read {key}: {exc.strerror or exc}") from exc
        return Blob(data, content_type_of(key))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def close(self) -> None:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
