"""Asking a language model until its answer is accepted: the one loop of the analysis engine and the
classifier. A refused answer goes back to the model with the reasons, a few times, then the ask fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from prometheus_client import Counter

from .chat import ChatClient, Completion
from .errors import AnalysisEngineError
from .prompt import correction_message

log = logging.getLogger(__name__)

MAX_PROBLEMS = 20
T = TypeVar("T")


class Rejected(Exception):
    """An answer refused: `outcome` labels the answers' metric, `problems` go back to the model."""

    def __init__(self, outcome: str, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.outcome = outcome
        self.problems = problems[:MAX_PROBLEMS]


class Meter(Protocol):
    """Told of each request before it goes and of each answer: may refuse either (an engine error)."""

    def reserve(self, messages: Sequence[dict[str, Any]]) -> int | None:
        """The answer's cap in tokens (max_tokens), or None for none."""
        ...

    def record(self, messages: Sequence[dict[str, Any]], answer: Completion) -> None: ...


async def ask_until_accepted(
    chat: ChatClient,
    *,
    model: str,
    messages: list[dict[str, Any]],
    temperature: float,
    max_attempts: int,
    accept: Callable[[Completion], T],
    answers: Counter,
    what: str,
    meter: Meter | None = None,
    refused: tuple[str, list[str]] | None = None,
) -> T:
    """`accept` turns an answer into the result or raises Rejected; `what` names it in the error.

    `refused`: an earlier answer and why it was refused after all, to send back with the first ask."""
    asked, problems = messages, []
    if refused is not None:
        asked = _correction(messages, *refused)
    for attempt in range(1, max_attempts + 1):
        body: dict[str, Any] = {
            "model": model,
            "messages": asked,
            "temperature": temperature,
            "response_format": {"type": "json_object"},
        }
        cap = meter.reserve(asked) if meter is not None else None
        if cap is not None:
            body["max_tokens"] = cap
        completion = await chat.complete(body)
        if meter is not None:
            meter.record(asked, completion)
        try:
            result = accept(completion)
        except Rejected as rejected:
            answers.labels(rejected.outcome).inc()
            problems = rejected.problems
            log.warning(
                "%s answer %d/%d rejected (%s): %s",
                what,
                attempt,
                max_attempts,
                rejected.outcome,
                problems[0],
            )
            asked = _correction(messages, completion.content, problems)
            continue
        answers.labels("accepted").inc()
        return result
    raise AnalysisEngineError(
        f"The language model ({model}) gave no valid {what} in {max_attempts} attempts; "
        f"last problems: {'; '.join(problems[:5])}"
    )


def _correction(messages: list[dict[str, Any]], answer: str, problems: list[str]) -> list[dict[str, Any]]:
    # Only the latest answer goes back, so retries do not grow the request without bound.
    return [
        *messages,
        {"role": "assistant", "content": answer},
        {"role": "user", "content": correction_message(problems)},
    ]
