"""The optional engine: an OpenAI-compatible chat-completions endpoint writes the analysis, step by step.

Each step's answer is held to its section of the same schema as the local engine's and must name only
reels it was sent; a rejected answer goes back to the model with the reasons, a few times per step, and
the run stops at its token budget (libs/analysis/chain.py, libs/analysis/usage.py).
"""

from __future__ import annotations

import aiohttp

from .chain import AnalysisChain
from .chat import ChatClient
from .local import Clock, utc_now
from .models import AnalysisInput
from .prompt import PROMPT_VERSION
from .results import AnalysisData
from .usage import RunLimits

DEFAULT_MODEL = "gpt-4o-mini"


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
        limits: RunLimits | None = None,
        session: aiohttp.ClientSession | None = None,
        clock: Clock = utc_now,
    ) -> None:
        """max_attempts: answers asked for per step, rejected ones included; max_retries: per answer,
        for HTTP failures; limits: the token budget per run and the prices."""
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
        self.limits = limits or RunLimits()
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
        chain = AnalysisChain(
            self.chat,
            model=self.model,
            temperature=self.temperature,
            max_attempts=self.max_attempts,
            limits=self.limits,
            engine=self.name,
            generated_at=self._clock(),
        )
        return await chain.run(analysis_input)
