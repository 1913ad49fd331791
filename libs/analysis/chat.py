"""One chat completion from an OpenAI-compatible endpoint: timeouts, 429 and 5xx retried with backoff.

The API key goes into the Authorization header and nowhere else: not into logs, errors or repr().
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any, TypeGuard

import aiohttp
import orjson
from prometheus_client import Counter

from libs.backoff import RetryPolicy, retry_after_s

from .errors import AnalysisEngineError

log = logging.getLogger(__name__)

LLM_REQUESTS = Counter(
    "viralspot_analysis_llm_requests_total",
    "HTTP attempts to the language model endpoint, by outcome",
    ["outcome"],
)


@dataclass(frozen=True)
class Completion:
    content: str
    # "length" means the model was cut off mid-answer.
    finish_reason: str | None
    # What the endpoint says the request cost; None when it does not say (the caller estimates).
    usage: Usage | None = None


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


class _Transient(Exception):
    def __init__(self, reason: str, detail: str, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.retry_after_s = retry_after_s


class ChatClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout_s: float,
        max_retries: int,
        backoff_base_s: float,
        backoff_max_s: float,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self._api_key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.max_retries = max(0, max_retries)
        self._retry = RetryPolicy(self.max_retries, backoff_base_s, backoff_max_s)
        self._session = session
        self._owns_session = session is None
        self._jitter = random.Random()

    def __repr__(self) -> str:
        return f"ChatClient(url={self.url!r})"

    async def close(self) -> None:
        """Closes the session only if we created it; a caller's session stays the caller's."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def complete(self, body: dict[str, Any]) -> Completion:
        payload = orjson.dumps(body)
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                completion = await self._post(payload)
            except _Transient as failure:
                LLM_REQUESTS.labels(failure.reason).inc()
                if attempt == attempts:
                    raise AnalysisEngineError(
                        f"The language model endpoint did not answer after {attempts} attempts "
                        f"(last: {failure.detail})"
                    ) from None
                delay = self._retry.delay(attempt, failure.retry_after_s, self._jitter)
                log.warning(
                    "language model request %d/%d failed (%s); retrying in %.2fs",
                    attempt,
                    attempts,
                    failure.detail,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            LLM_REQUESTS.labels("ok").inc()
            return completion
        raise AssertionError("unreachable")

    async def _post(self, payload: bytes) -> Completion:
        headers = {"Authorization": f"Bearer {self._api_key}", "Content-Type": "application/json"}
        try:
            async with self._client().post(
                self.url, data=payload, headers=headers, timeout=self._timeout
            ) as response:
                raw = await response.read()
                status = response.status
                retry_after = retry_after_s(response.headers.get("Retry-After"))
        except TimeoutError:
            raise _Transient("timeout", "timed out") from None
        except aiohttp.ClientError as exc:
            raise _Transient("connection", f"connection failed ({type(exc).__name__})") from None
        if status == 429:
            raise _Transient("rate_limited", "HTTP 429", retry_after)
        if status >= 500:
            raise _Transient("server_error", f"HTTP {status}", retry_after)
        if status in (401, 403):
            LLM_REQUESTS.labels("unauthorized").inc()
            raise AnalysisEngineError(
                f"The language model endpoint refused the API key (HTTP {status}); check OPENAI_API_KEY"
            )
        if status >= 400:
            LLM_REQUESTS.labels("rejected").inc()
            raise AnalysisEngineError(
                f"The language model endpoint rejected the request (HTTP {status}): {self._detail(raw)}"
            )
        return _completion(raw)

    def _detail(self, raw: bytes) -> str:
        try:
            error = orjson.loads(raw).get("error")
            text = error.get("message") if isinstance(error, dict) else str(error)
        except (orjson.JSONDecodeError, AttributeError):
            text = raw.decode("utf-8", "replace")
        text = str(text)[:300]
        # An endpoint that echoes the request must not carry the key into our errors.
        return text.replace(self._api_key, "***") if self._api_key else text

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session


def _completion(raw: bytes) -> Completion:
    """choices[0].message.content; a malformed envelope is worth another try."""
    try:
        envelope: Any = orjson.loads(raw)
        choice = envelope["choices"][0]
        content = choice["message"]["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        raise _Transient("bad_response", "the answer is not a chat completion") from None
    if not isinstance(content, str):
        raise _Transient("bad_response", "the chat completion has no text content")
    reason = choice.get("finish_reason") if isinstance(choice, dict) else None
    return Completion(content, reason if isinstance(reason, str) else None, _usage(envelope.get("usage")))


def _usage(reported: Any) -> Usage | None:
    """The envelope's `usage`, when it has both counts as non-negative integers."""
    if not isinstance(reported, dict):
        return None
    prompt, completion = reported.get("prompt_tokens"), reported.get("completion_tokens")
    if _count(prompt) and _count(completion):
        return Usage(prompt, completion)
    return None


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
