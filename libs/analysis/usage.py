"""What a language-model run costs: tokens counted per step against the run's budget, and their price.

The endpoint's reported `usage` is counted; where it reports none, the tokens are estimated from the
text (about four characters a token) and the run's record says so. A step whose prompt would not fit in
what is left of the budget is not sent, and a run that used the budget up stops: both with an error that
names the budget, the tokens used and the step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field

from .errors import AnalysisEngineError

if TYPE_CHECKING:  # results.py imports this module for RunUsage: it stays free of the HTTP client
    from .chat import Completion

DEFAULT_TOKEN_BUDGET = 150_000
# gpt-4o-mini's list prices (USD per 1,000 tokens), the default model's; set them for another model.
DEFAULT_PROMPT_PRICE_PER_1K = 0.00015
DEFAULT_COMPLETION_PRICE_PER_1K = 0.0006
CHARS_PER_TOKEN = 4
# Tokens a chat message costs beyond its text (role, separators), for the estimate.
MESSAGE_OVERHEAD = 4
# Below this many tokens left for the answer, the request caps it (max_tokens); above, the model's own
# output limit is lower than the budget's and sending it could exceed what a small model accepts.
CAP_COMPLETION_BELOW = 4096

LLM_TOKENS = Counter(
    "viralspot_analysis_llm_tokens_total",
    "Tokens of the analysis engine's language model, by step and kind (prompt or completion)",
    ["step", "kind"],
)
LLM_COST = Counter(
    "viralspot_analysis_llm_cost_usd_total",
    "What the analysis engine's language model cost, in USD at the configured prices",
)


class BudgetExhausted(AnalysisEngineError):
    """The run's token budget is used up, or too little of it is left for the next step."""


@dataclass(frozen=True)
class RunLimits:
    token_budget: int = DEFAULT_TOKEN_BUDGET
    prompt_price_per_1k: float = DEFAULT_PROMPT_PRICE_PER_1K
    completion_price_per_1k: float = DEFAULT_COMPLETION_PRICE_PER_1K

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.prompt_price_per_1k + completion_tokens * self.completion_price_per_1k
        ) / 1000


class Tokens(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    # Some of the tokens are estimates: the endpoint did not report usage for every answer.
    estimated: bool = False


class StepUsage(Tokens):
    step: str = Field(max_length=50)
    section: str = Field(max_length=100)
    # Answers asked for (each one a request), rejected ones included.
    attempts: int = Field(default=0, ge=0)
    # Answers accepted after a deterministic repair (a code fence, text around the JSON).
    repaired: int = Field(default=0, ge=0)


class RunUsage(Tokens):
    """Recorded with each language-model run's analysis_data as `llm_usage`."""

    model: str = Field(max_length=200)
    token_budget: int = Field(ge=0)
    total_tokens: int = Field(ge=0)
    cost_usd: float = Field(ge=0)
    prompt_price_per_1k: float = Field(ge=0)
    completion_price_per_1k: float = Field(ge=0)
    steps: list[StepUsage] = Field(default_factory=list, max_length=50)


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_prompt(messages: Sequence[dict[str, Any]]) -> int:
    return sum(estimate_tokens(str(m.get("content", ""))) + MESSAGE_OVERHEAD for m in messages)


class TokenMeter:
    """One run's tokens: asked before each request (`reserve`) and told after each answer (`record`)."""

    def __init__(self, limits: RunLimits, model: str) -> None:
        self.limits = limits
        self.model = model
        self._steps: dict[str, StepUsage] = {}

    @property
    def used(self) -> int:
        return sum(s.prompt_tokens + s.completion_tokens for s in self._steps.values())

    def reserve(self, step: str, section: str, messages: Sequence[dict[str, Any]]) -> int | None:
        """Raises BudgetExhausted when the prompt would not fit; else the answer's cap (max_tokens),
        None when what is left is more than a model answers in one go."""
        self._step(step, section)
        needed = estimate_prompt(messages)
        left = self.limits.token_budget - self.used
        if needed >= left:
            raise BudgetExhausted(
                f"The token budget of {self.limits.token_budget} tokens per run (ANALYSIS_LLM_TOKEN_BUDGET) "
                f"leaves {max(0, left)} tokens after {self.used} used, too few for step '{step}' "
                f"({section}), whose prompt alone needs about {needed}"
            )
        allowance = left - needed
        return allowance if allowance < CAP_COMPLETION_BELOW else None

    def record(self, step: str, section: str, messages: Sequence[dict[str, Any]], answer: Completion) -> None:
        """Counts one answer; raises BudgetExhausted when it took the run past its budget."""
        usage = self._step(step, section)
        reported = answer.usage
        prompt = reported.prompt_tokens if reported else estimate_prompt(messages)
        completion = reported.completion_tokens if reported else estimate_tokens(answer.content)
        self._steps[step] = usage.model_copy(
            update={
                "attempts": usage.attempts + 1,
                "prompt_tokens": usage.prompt_tokens + prompt,
                "completion_tokens": usage.completion_tokens + completion,
                "estimated": usage.estimated or reported is None,
            }
        )
        LLM_TOKENS.labels(step, "prompt").inc(prompt)
        LLM_TOKENS.labels(step, "completion").inc(completion)
        LLM_COST.inc(self.limits.cost(prompt, completion))
        if self.used > self.limits.token_budget:
            estimated = " (partly estimated: the endpoint did not report usage)" if self.estimated else ""
            raise BudgetExhausted(
                f"The token budget of {self.limits.token_budget} tokens per run (ANALYSIS_LLM_TOKEN_BUDGET) "
                f"is exhausted at step '{step}' ({section}): {self.used} tokens used{estimated}, "
                f"{self.prompt_tokens} prompt and {self.completion_tokens} completion"
            )

    def repaired(self, step: str) -> None:
        usage = self._steps[step]
        self._steps[step] = usage.model_copy(update={"repaired": usage.repaired + 1})

    def attempts(self, step: str) -> int:
        usage = self._steps.get(step)
        return usage.attempts if usage else 0

    @property
    def prompt_tokens(self) -> int:
        return sum(s.prompt_tokens for s in self._steps.values())

    @property
    def completion_tokens(self) -> int:
        return sum(s.completion_tokens for s in self._steps.values())

    @property
    def estimated(self) -> bool:
        return any(s.estimated for s in self._steps.values())

    def summary(self) -> RunUsage:
        prompt, completion = self.prompt_tokens, self.completion_tokens
        return RunUsage(
            model=self.model,
            token_budget=self.limits.token_budget,
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            estimated=self.estimated,
            cost_usd=round(self.limits.cost(prompt, completion), 6),
            prompt_price_per_1k=self.limits.prompt_price_per_1k,
            completion_price_per_1k=self.limits.completion_price_per_1k,
            steps=list(self._steps.values()),
        )

    def _step(self, step: str, section: str) -> StepUsage:
        if step not in self._steps:
            self._steps[step] = StepUsage(step=step, section=section)
        return self._steps[step]
