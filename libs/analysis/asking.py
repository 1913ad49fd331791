"""Asking a language model until its answer is accepted: the one loop of the analysis engine and the
classifier. A refused answer goes back to the model with the reasons, a few times, then the ask fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

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
) -> T:
    """`accept` turns an answer into the result or raises Rejected; `what` names it in the error."""
    asked, problems = messages, []
    for attempt in range(1, max_attempts + 1):
        completion = await chat.complete(
            {
                "model": model,
                "messages": asked,
                "temperature": temperature,
                "response_format": {"type": "json_object"},
            }
        )
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
            # Only the latest answer goes back, so retries do not grow the request without bound.
            asked = [
                *messages,
                {"role": "assistant", "content": completion.content},
                {"role": "user", "content": correction_message(problems)},
            ]
            continue
        answers.labels("accepted").inc()
        return result
    raise AnalysisEngineError(
        f"The language model ({model}) gave no valid {what} in {max_attempts} attempts; "
        f"last problems: {'; '.join(problems[:5])}"
    )
