"""A real OpenAI-compatible chat-completions server for tests, on a free local port.

It answers `POST /v1/chat/completions` with a valid analysis built by the local engine from the compact
input in the request, or with the failure a test asks for: a wrong key, 429 or 500 answers, text that is
not JSON, JSON that breaks the schema, or an analysis about reels that were never sent.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from libs.analysis import AnalysisInput, LocalEngine

STUB_MODEL = "stub-model"
ANSWERED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class StubBehaviour:
    """Counts are used up one request (or one answer) at a time, in the order listed here."""

    api_key: str | None = "stub-key"
    rate_limits: int = 0
    server_errors: int = 0
    invalid_json: int = 0
    schema_invalid: int = 0
    ungrounded: int = 0
    delay_s: float = 0.0


@dataclass
class OpenAIStub:
    behaviour: StubBehaviour = field(default_factory=StubBehaviour)
    # Request bodies as received, without headers; tests read the prompts and the feedback from them.
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    base_url: str = ""

    async def start(self) -> OpenAIStub:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v1"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _chat(self, request: web.Request) -> web.Response:
        response = await self._answer(request)
        self.statuses.append(response.status)
        return response

    async def _answer(self, request: web.Request) -> web.Response:
        behaviour = self.behaviour
        if (
            behaviour.api_key is not None
            and request.headers.get("Authorization") != f"Bearer {behaviour.api_key}"
        ):
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        body = await request.json(loads=orjson.loads)
        self.requests.append(body)
        if behaviour.delay_s:
            await asyncio.sleep(behaviour.delay_s)
        if behaviour.rate_limits:
            behaviour.rate_limits -= 1
            return _error(429, "Rate limit reached.", "rate_limit_exceeded", {"Retry-After": "0"})
        if behaviour.server_errors:
            behaviour.server_errors -= 1
            return _error(500, "The server had an error while processing your request.", "server_error")
        return web.json_response(
            _completion(self._content(body)), dumps=lambda data: orjson.dumps(data).decode()
        )

    def _content(self, body: dict[str, Any]) -> str:
        behaviour = self.behaviour
        if behaviour.invalid_json:
            behaviour.invalid_json -= 1
            return "Sure! Here is your analysis: {profile_analysis: ..."
        analysis = _analysis(body)
        if behaviour.schema_invalid:
            behaviour.schema_invalid -= 1
            analysis["generated_hooks"] = analysis["generated_hooks"][:-1]
            analysis["individual_reel_analyses"][0]["effectiveness_score"] = 14
        elif behaviour.ungrounded:
            behaviour.ungrounded -= 1
            analysis["generated_hooks"][0]["adapted_from"]["content_id"] = "made-up-reel"
        return orjson.dumps(analysis).decode()


async def start_openai_stub(**behaviour: Any) -> OpenAIStub:
    return await OpenAIStub(StubBehaviour(**behaviour)).start()


def _analysis(body: dict[str, Any]) -> dict[str, Any]:
    """What a well-behaved model would answer: the local engine's reading of the input it was sent."""
    sent = orjson.loads(next(m["content"] for m in body["messages"] if m["role"] == "user"))
    analysis_input = AnalysisInput.model_validate(
        {
            "primary": sent["primary"],
            "primary_reels": sent["primary_reels"],
            "competitors": sent["competitors"],
            "content_strategy": sent["content_strategy"],
            "settings": {"hooks_count": sent["hooks_count"]},
        }
    )
    data = LocalEngine(clock=lambda: ANSWERED_AT).analyse_now(analysis_input)
    return data.model_dump(mode="json")


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-stub{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": STUB_MODEL,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": 1000,
            "completion_tokens": len(content) // 4,
            "total_tokens": 1000 + len(content) // 4,
        },
    }


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers)
