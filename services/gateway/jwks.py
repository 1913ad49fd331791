"""The signing keys an identity provider publishes at AUTH_JWKS_URL (RFC 7517), for RS256/ES256 tokens.

Fetched with aiohttp (PyJWKClient reads with urllib and would block the event loop), cached for
AUTH_JWKS_TTL_S, and fetched again sooner when a token names a kid the cache lacks (the provider
rotated its keys). Fetches, for whatever reason and whatever their outcome, are AUTH_JWKS_MIN_REFETCH_S
apart: tokens with made-up kids cost a lookup, never a request to the provider.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import aiohttp
import jwt
import orjson
import structlog

log = structlog.get_logger(__name__)

# A provider's set is a few keys of a few KiB (certificate chains included); anything larger is not one.
MAX_JWKS_BYTES = 256 * 1024

Fetch = Callable[[], Awaitable[bytes]]


class KeysUnavailable(Exception):
    """No key set could be fetched yet: tokens cannot be judged, which is not the client's fault."""


class JwksError(Exception):
    """The answer at AUTH_JWKS_URL is not a usable key set (logged; the keys held before stay)."""


class JwksKeys:
    def __init__(
        self,
        fetch: Fetch,
        algorithms: Collection[str],
        *,
        ttl_s: float,
        min_refetch_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._algorithms = frozenset(algorithms)
        self._ttl_s = ttl_s
        self._min_refetch_s = min_refetch_s
        self._clock = clock
        self._keys: dict[tuple[str | None, str], jwt.PyJWK] | None = None
        self._fetched_at = -float("inf")
        self._attempted_at = -float("inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None, algorithm: str) -> jwt.PyJWK | None:
        """The key for a token's kid and alg; None when the provider publishes no such key."""
        stale = self._keys is None or self._clock() - self._fetched_at >= self._ttl_s
        if stale:
            await self._refresh()
        found = self._find(kid, algorithm)
        if found is None and not stale:
            await self._refresh()  # perhaps rotated since; bounded by the minimum interval
            found = self._find(kid, algorithm)
        if self._keys is None:
            raise KeysUnavailable
        return found

    def _find(self, kid: str | None, algorithm: str) -> jwt.PyJWK | None:
        keys = self._keys or {}
        if kid is not None:
            return keys.get((kid, algorithm))
        # A token without a kid is judged only against a set holding one key for its algorithm.
        candidates = [key for (_, alg), key in keys.items() if alg == algorithm]
        return candidates[0] if len(candidates) == 1 else None

    async def _refresh(self) -> None:
        async with self._lock:
            # Whoever held the lock may have fetched already; either way the interval holds.
            if self._clock() - self._attempted_at < self._min_refetch_s:
                return
            self._attempted_at = self._clock()
            try:
                keys = usable_keys(await self._fetch(), self._algorithms)
            except (aiohttp.ClientError, TimeoutError, JwksError) as exc:
                log.warning("gateway.jwks_fetch_failed", error=str(exc) or type(exc).__name__)
                return
            self._keys, self._fetched_at = keys, self._clock()
            log.info("gateway.jwks_fetched", keys=len(keys))


def usable_keys(body: bytes, algorithms: frozenset[str]) -> dict[tuple[str | None, str], jwt.PyJWK]:
    """The signing keys of a JWKS document for the configured algorithms; others (HS256 `oct` keys,
    encryption keys, what PyJWT cannot read) are left out, as RFC 7517 5 lets a reader do."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise JwksError("the JWKS is not JSON") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise JwksError("the JWKS has no 'keys' list")
    keys: dict[tuple[str | None, str], jwt.PyJWK] = {}
    for entry in entries:
        key = _signing_key(entry)
        if key is not None and key.algorithm_name in algorithms:
            keys[(key.key_id, key.algorithm_name)] = key
    if not keys:
        raise JwksError(f"the JWKS holds no key for {', '.join(sorted(algorithms))}")
    return keys


def _signing_key(entry: Any) -> jwt.PyJWK | None:
    if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
        return None
    if not isinstance(entry.get("kid", ""), str):
        return None
    try:
        return jwt.PyJWK(entry)
    except (jwt.PyJWTError, KeyError, TypeError, ValueError, NotImplementedError):
        return None


class JwksFetcher:
    """GETs the key set with a timeout and a bound on its size; one session, closed with the app."""

    def __init__(self, url: str, timeout_s: float, max_bytes: int = MAX_JWKS_BYTES) -> None:
        self._url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_bytes = max_bytes
        self._session: aiohttp.ClientSession | None = None

    async def __call__(self) -> bytes:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.get(self._url, headers={"Accept": "application/json"}) as resp:
            if resp.status != 200:
                raise JwksError(f"the JWKS answered HTTP {resp.status}")
            if resp.content_length is not None and resp.content_length > self._max_bytes:
                raise JwksError(f"the JWKS is larger than {self._max_bytes} bytes")
            body = bytearray()
            # Counted as read (after any decompression): a missing or false Content-Length bounds nothing.
            async for chunk in resp.content.iter_chunked(64 * 1024):
                body += chunk
                if len(body) > self._max_bytes:
                    raise JwksError(f"the JWKS is larger than {self._max_bytes} bytes")
            return bytes(body)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
