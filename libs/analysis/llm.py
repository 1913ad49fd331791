"""The optional engine: an OpenAI-compatible chat-completions endpoint writes the analysis.

Its answer is held to the same schema as the local engine's and must name only reels it was sent; a
rejected answer goes back to the model with the reasons, a few times, before the run fails.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import orjson
from prometheus_client import Counter
from pydantic import ValidationError

from .asking import Rejected, ask_until_accepted
from .chat import ChatClient
from .grounding import grounding_errors
from .local import Clock, utc_now
from .models import AnalysisInput
from .prompt import PROMPT_VERSION, system_prompt, user_message
from .results import AnalysisData, validate_analysis

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"

LLM_ANSWERS = Counter(
    "viralspot_analysis_llm_answers_total",
    "Answers of the language model, accepted or why they were rejected",
    ["outcome"],
)


class OpenAICompatibleEngine:
    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str = DEFAULT_MODEL,
        timeout_s: float = 60.0,
        max_attempts: int = 3,
        max_retries: int = 4,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 30.0,
        temperature: float = 0.2,
        session: aiohttp.ClientSession | None = None,
        clock: Clock = utc_now,
    ) -> None:
        """max_attempts: answers asked for, rejected ones included; max_retries: per answer, for HTTP failures."""
        self.chat = ChatClient(
            base_url=base_url,
            api_key=api_key,
            timeout_s=timeout_s,
            max_retries=max_retries,
            backoff_base_s=backoff_base_s,
            backoff_max_s=backoff_max_s,
            session=session,
        )
        self.model = model
        self.max_attempts = max(1, max_attempts)
        self.temperature = temperature
        self._clock = clock

    @property
    def url(self) -> str:
        return self.chat.url

    @property
    def version(self) -> str:
        return f"openai-{PROMPT_VERSION}-{self.model}"

    def __repr__(self) -> str:
        return f"OpenAICompatibleEngine(url={self.url!r}, model={self.model!r})"

    async def close(self) -> None:
        await self.chat.close()

    async def analyse(self, analysis_input: AnalysisInput) -> AnalysisData:
        base = [
            {"role": "system", "content": system_prompt()},
            {"role": "user", "content": user_message(analysis_input)},
        ]
        return await ask_until_accepted(
            self.chat,
            model=self.model,
            messages=base,
            temperature=self.temperature,
            max_attempts=self.max_attempts,
            accept=lambda completion: self._accept(
                completion.content, completion.finish_reason, analysis_input
            ),
            answers=LLM_ANSWERS,
            what="analysis",
        )

    def _accept(self, content: str, finish_reason: str | None, analysis_input: AnalysisInput) -> AnalysisData:
        try:
            payload = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            cut = " (the answer was cut off: keep texts shorter)" if finish_reason == "length" else ""
            raise Rejected("invalid_json", [f"the answer is not valid JSON: {exc}{cut}"]) from None
        if not isinstance(payload, dict):
            raise Rejected("invalid_json", ["the answer must be a JSON object"])
        summary = payload.get("analysis_summary")
        if isinstance(summary, dict):
            # Who wrote it and when are ours to say, not the model's.
            summary["engine"] = self.name
            summary["generated_at"] = self._clock().isoformat()
        try:
            data = validate_analysis(payload, hooks_count=analysis_input.hooks_count)
        except ValidationError as exc:
            problems = _readable(exc)
            # Field errors hide the count checks, which pydantic runs last; name both in one go.
            if not any(problem.startswith("answer:") for problem in problems):
                problems += _count_problems(payload, analysis_input.hooks_count)
            raise Rejected("schema_invalid", problems) from None
        problems = grounding_errors(data, analysis_input)
        if problems:
            raise Rejected("ungrounded", problems)
        return data


def _readable(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "answer"
        problems.append(f"{where}: {item['msg']}")
    return problems


def _count_problems(payload: dict[str, Any], hooks_count: int) -> list[str]:
    hooks, scripts = payload.get("generated_hooks"), payload.get("complete_scripts")
    problems = []
    if isinstance(hooks, list) and len(hooks) != hooks_count:
        problems.append(f"generated_hooks has {len(hooks)} items, expected exactly {hooks_count}")
    if isinstance(hooks, list) and isinstance(scripts, list) and len(scripts) != len(hooks):
        problems.append(f"complete_scripts has {len(scripts)} items, one per generated hook expected")
    return problems
