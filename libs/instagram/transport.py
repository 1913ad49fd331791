"""One upstream API (the scraper or the transcript service): rate limit, timeout, retries, metrics."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import orjson

from libs.backoff import RetryPolicy, retry_after_s

from .errors import (
    AccountNotFound,
    AccountPrivate,
    MediaNotFound,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from .normalise import error_text
from .ratelimit import TokenBucket
from .telemetry import PROVIDER_CALLS, PROVIDER_LATENCY, PROVIDER_RETRIES

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class _Failure:
    status: int | None
    # A short label for metrics; `detail` is what the final error tells a person.
    reason: str
    detail: str = ""
    retry_after_s: float | None = None


class ProviderTransport:
    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        host: str,
        api_key: str,
        session: Callable[[], aiohttp.ClientSession],
        timeout_s: float,
        retry: RetryPolicy,
        rate_limit_per_minute: float,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._headers = {"x-rapidapi-key": api_key, "x-rapidapi-host": host}
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.retry = retry
        self.bucket = TokenBucket(rate_limit_per_minute)
        self._jitter = random.Random()

    async def fetch(
        self,
        endpoint: str,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        data: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        username: str | None = None,
        subject: str = "",
    ) -> T:
        """Call the endpoint with retries and parse the answer; counts exactly one outcome per call."""
        try:
            payload = await self._send(endpoint, method, path, data, params, username, subject)
            result = parse(payload)
        except ProviderError as exc:
            PROVIDER_CALLS.labels(self.name, endpoint, exc.outcome).inc()
            raise
        PROVIDER_CALLS.labels(self.name, endpoint, "ok").inc()
        return result

    async def _send(
        self,
        endpoint: str,
        method: str,
        path: str,
        data: dict[str, str] | None,
        params: dict[str, str] | None,
        username: str | None,
        subject: str,
    ) -> Any:
        attempts = self.retry.max_retries + 1
        failure = _Failure(None, "not attempted")
        for attempt in range(1, attempts + 1):
            await self.bucket.acquire()
            outcome = await self._attempt(endpoint, method, path, data, params, username, subject)
            if not isinstance(outcome, _Failure):
                return outcome
            failure = outcome
            if attempt == attempts:
                break
            PROVIDER_RETRIES.labels(self.name, endpoint, failure.reason).inc()
            delay = self.retry.delay(attempt, failure.retry_after_s, self._jitter)
            log.warning(
                "provider %s %s attempt %d failed (%s); retrying in %.2fs",
                self.name,
                endpoint,
                attempt,
                failure.detail,
                delay,
            )
            await asyncio.sleep(delay)
        if failure.status == 429:
            raise ProviderRateLimited(self.name, attempts, failure.retry_after_s)
        raise ProviderUnavailable(self.name, attempts, failure.status, failure.detail)

    async def _attempt(
        self,
        endpoint: str,
        method: str,
        path: str,
        data: dict[str, str] | None,
        params: dict[str, str] | None,
        username: str | None,
        subject: str,
    ) -> Any:
        """The decoded JSON body, a _Failure worth retrying, or a raised permanent error."""
        started = time.perf_counter()
        try:
            async with self._session().request(
                method,
                self.base_url + path,
                data=data,
                params=params,
                headers=self._headers,
                timeout=self._timeout,
            ) as response:
                body = await response.read()
                status = response.status
                retry_after = retry_after_s(response.headers.get("Retry-After"))
        except TimeoutError:
            return _Failure(None, "timeout", "timed out")
        except aiohttp.ClientError as exc:
            return _Failure(None, "connection", f"connection failed ({type(exc).__name__})")
        finally:
            PROVIDER_LATENCY.labels(self.name, endpoint).observe(time.perf_counter() - started)
        if status == 429:
            return _Failure(429, "rate_limited", "HTTP 429", retry_after)
        if status >= 500:
            return _Failure(status, "server_error", f"HTTP {status}")
        if status >= 400:
            raise self._client_error(status, body, username, subject)
        return self._decode(body)

    def _client_error(self, status: int, body: bytes, username: str | None, subject: str) -> ProviderError:
        detail = error_text(_loads_or_none(body)) or body.decode("utf-8", "replace")[:200]
        if username is not None and "private" in detail.lower():
            return AccountPrivate(username)
        if status == 404:
            return AccountNotFound(username) if username is not None else MediaNotFound(subject)
        return ProviderRejected(self.name, status, detail or "no detail given")

    def _decode(self, body: bytes) -> Any:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ProviderBadResponse(
                f"The Instagram {self.name} API answered with something that is not JSON"
            ) from None


def _loads_or_none(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
