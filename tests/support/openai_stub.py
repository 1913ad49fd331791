"""A real OpenAI-compatible chat-completions server for tests, on a free local port.

It answers each step of the analysis chain (`POST /v1/chat/completions`, libs/analysis/chain.py) with the
section that step asks for, taken from the local engine's analysis of the compact input in the request,
so it follows the schema whatever fields it gains; and reports `usage`. Or it answers with the failure a
test asks for: a wrong key, 429 or 500 answers, text that is not JSON, JSON that breaks the schema, an
analysis about reels that were never sent, a given step's answer spoilt in a given way (`faults`), large
usage, or none at all.
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
    # step name -> the faults of its next answers, in turn (FAULTS); the counts above come first.
    faults: dict[str, list[str]] = field(default_factory=dict)
    # prompt_tokens reported per answer (None: an estimate of the request's); report_usage=False: none.
    prompt_tokens: int | None = None
    report_usage: bool = True


# How a step's answer can be spoilt: prose that is no JSON; the right JSON in a code fence between words
# (repairable); the section's first object missing a required field; its first cited reel made up; the
# generated hooks aimed at a topic the profile step never named, or one item too few (cross-section checks).
FAULTS = ("prose", "fenced", "schema", "unknown_reel", "off_topic", "one_less")


@dataclass
class OpenAIStub:
    behaviour: StubBehaviour = field(default_factory=StubBehaviour)
    # Request bodies as received, without headers; tests read the prompts and the feedback from them.
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    # The usage each answer reported (None where it reported none), for tests that add up the run's tokens.
    usages: list[dict[str, int] | None] = field(default_factory=list)
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
        content = self._content(body)
        usage = self._usage(body, content)
        self.usages.append(usage)
        return web.json_response(_completion(content, usage), dumps=lambda data: orjson.dumps(data).decode())

    def _content(self, body: dict[str, Any]) -> str:
        behaviour = self.behaviour
        sent = _sent(body)
        step, section = sent["step"], sent["answer_with"]
        fault = _take(behaviour, step)
        if fault == "prose":
            return f"Sure! Here is the {section}: {{{section}: ..."
        answer = {section: _analysis(sent["input"])[section]}
        if fault == "fenced":
            return f"Here you go:\n```json\n{orjson.dumps(answer).decode()}\n```\nHope this helps!"
        if fault == "schema":
            first = _first_object(answer[section])
            first.pop(next(iter(first)))
        elif fault == "unknown_reel":
            _cited(answer[section])["content_id"] = "made-up-reel"
        elif fault == "one_less":
            answer[section] = answer[section][:-1]
        elif fault == "off_topic":
            for hook in answer[section]:
                hook["target_topic"] = "astrology"
        return orjson.dumps(answer).decode()

    def _usage(self, body: dict[str, Any], content: str) -> dict[str, int] | None:
        if not self.behaviour.report_usage:
            return None
        prompt = self.behaviour.prompt_tokens
        if prompt is None:
            prompt = sum(len(m["content"]) for m in body["messages"]) // 4
        return {"prompt_tokens": prompt, "completion_tokens": len(content) // 4}


async def start_openai_stub(**behaviour: Any) -> OpenAIStub:
    return await OpenAIStub(StubBehaviour(**behaviour)).start()


def _sent(body: dict[str, Any]) -> dict[str, Any]:
    """The request's first user message, the step's document (retries append their own after it)."""
    sent: dict[str, Any] = orjson.loads(next(m["content"] for m in body["messages"] if m["role"] == "user"))
    return sent


def _take(behaviour: StubBehaviour, step: str) -> str | None:
    for name, fault in (
        ("invalid_json", "prose"),
        ("schema_invalid", "schema"),
        ("ungrounded", "unknown_reel"),
    ):
        if getattr(behaviour, name):
            setattr(behaviour, name, getattr(behaviour, name) - 1)
            return fault
    queued = behaviour.faults.get(step)
    return queued.pop(0) if queued else None


def _analysis(sent_input: dict[str, Any]) -> dict[str, Any]:
    """What a well-behaved model would answer: the local engine's reading of the input it was sent."""
    data = LocalEngine(clock=lambda: ANSWERED_AT).analyse_now(AnalysisInput.model_validate(sent_input))
    return data.model_dump(mode="json")


def _first_object(value: Any) -> dict[str, Any]:
    first = value[0] if isinstance(value, list) else value
    assert isinstance(first, dict), "a section is an object or a list of objects"
    return first


def _cited(value: Any) -> dict[str, Any]:
    """The first object in the section (depth first) that names a reel by content_id."""
    if isinstance(value, dict):
        if "content_id" in value:
            return value
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        children = []
    for child in children:
        found = _cited_in(child)
        if found is not None:
            return found
    raise AssertionError("this step's section cites no reel")


def _cited_in(value: Any) -> dict[str, Any] | None:
    try:
        return _cited(value) if isinstance(value, dict | list) else None
    except AssertionError:
        return None


def _completion(content: str, usage: dict[str, int] | None) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-stub{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": STUB_MODEL,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        **({"usage": {**usage, "total_tokens": sum(usage.values())}} if usage else {}),
    }


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers)
