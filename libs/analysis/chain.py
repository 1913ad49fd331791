"""The language-model engine's run: one step per section (profile, hooks, generation, scripts), each
answer held to its own part of the schema and to the reels it was sent before the next step starts; the
summary sections computed by our own rules; then the whole document's cross-checks, a failure sent back
to the step that wrote the offending part (and the steps after it asked again). Attempts are bounded per
step and tokens per run (libs/analysis/usage.py).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from pydantic import BaseModel, ValidationError

from .answers import decode, readable
from .asking import Rejected, ask_until_accepted
from .chat import ChatClient, Completion
from .derived import derived_sections
from .errors import AnalysisEngineError
from .grounding import grounding_errors
from .models import AnalysisInput
from .prompt import compact_input, step_message, system_prompt
from .results import AnalysisData, validate_analysis
from .steps import RUN_RECORD, Step, chain_steps
from .usage import RunLimits, TokenMeter

log = logging.getLogger(__name__)

LLM_ANSWERS = Counter(
    "viralspot_analysis_llm_answers_total",
    "Answers of the language model, accepted or why they were rejected",
    ["outcome"],
)


class _SendBack(Exception):
    def __init__(self, step: Step, problems: list[str]) -> None:
        super().__init__(step.name)
        self.step, self.problems = step, problems


class StepMeter:
    """The run's meter as one step's ask sees it (asking.Meter)."""

    def __init__(self, meter: TokenMeter, step: Step) -> None:
        self._meter, self._step = meter, step

    def reserve(self, messages: Any) -> int | None:
        return self._meter.reserve(self._step.name, self._step.section, messages)

    def record(self, messages: Any, answer: Completion) -> None:
        self._meter.record(self._step.name, self._step.section, messages, answer)


class AnalysisChain:
    def __init__(
        self,
        chat: ChatClient,
        *,
        model: str,
        temperature: float,
        max_attempts: int,
        limits: RunLimits,
        engine: str,
        generated_at: datetime,
    ) -> None:
        self.chat, self.model, self.temperature = chat, model, temperature
        self.max_attempts, self.limits = max_attempts, limits
        self.engine, self.generated_at = engine, generated_at
        self.steps = chain_steps()

    async def run(self, analysis_input: AnalysisInput) -> AnalysisData:
        sent = compact_input(analysis_input)
        meter = TokenMeter(self.limits, self.model)
        accepted: dict[str, tuple[BaseModel, str]] = {}
        refused: tuple[str, list[str]] | None = None
        index, checks = 0, 0
        while True:
            for step in self.steps[index:]:
                accepted[step.section] = await self._ask(step, analysis_input, sent, accepted, meter, refused)
                refused = None
            checks += 1
            try:
                return self._recorded(self._assemble(analysis_input, sent, accepted), meter)
            except _SendBack as back:
                culprit, problems = back.step, back.problems
            if checks >= self.max_attempts:
                raise AnalysisEngineError(
                    f"The language model ({self.model}) gave no analysis whose sections agree in "
                    f"{checks} attempts; last problems: {'; '.join(problems[:5])}"
                )
            log.warning("analysis sections disagree, asking step %s again: %s", culprit.name, problems[0])
            LLM_ANSWERS.labels("inconsistent").inc()
            index = self.steps.index(culprit)
            refused = (accepted[culprit.section][1], problems)
            for later in self.steps[index:]:
                accepted.pop(later.section, None)

    async def _ask(
        self,
        step: Step,
        analysis_input: AnalysisInput,
        sent: AnalysisInput,
        accepted: dict[str, tuple[BaseModel, str]],
        meter: TokenMeter,
        refused: tuple[str, list[str]] | None,
    ) -> tuple[BaseModel, str]:
        left = self.max_attempts - meter.attempts(step.name)
        if left <= 0:
            raise AnalysisEngineError(
                f"The language model ({self.model}) gave no valid {step.section} in {self.max_attempts} "
                f"attempts; last problems: {'; '.join((refused or ('', []))[1][:5])}"
            )
        context = {
            section: answer.model_dump(mode="json")[section] for section, (answer, _) in accepted.items()
        }
        messages = [
            {"role": "system", "content": system_prompt(step)},
            {"role": "user", "content": step_message(step, sent, context)},
        ]

        def accept(completion: Completion) -> tuple[BaseModel, str]:
            payload, repaired = decode(
                completion.content, step.section, step.is_list, completion.finish_reason
            )
            try:
                answer = step.answer.model_validate(payload)
            except ValidationError as exc:
                raise Rejected("schema_invalid", readable(exc)) from None
            problems = self._grounding(step, analysis_input, sent, {**accepted, step.section: (answer, "")})
            if problems:
                raise Rejected("ungrounded", problems)
            if repaired:
                meter.repaired(step.name)
            return answer, completion.content

        return await ask_until_accepted(
            self.chat,
            model=self.model,
            messages=messages,
            temperature=self.temperature,
            max_attempts=left,
            accept=accept,
            answers=LLM_ANSWERS,
            what=f"{step.section} (step {step.name})",
            meter=StepMeter(meter, step),
            refused=refused,
        )

    def _grounding(
        self,
        step: Step,
        analysis_input: AnalysisInput,
        sent: AnalysisInput,
        accepted: dict[str, tuple[BaseModel, str]],
    ) -> list[str]:
        """This step's grounding problems, checked on the document so far (what it cannot check yet
        waits for the whole document)."""
        sections = _values(accepted)
        for later in self.steps:
            if later.section not in sections:
                if not later.is_list:
                    return []
                sections[later.section] = []
        try:
            sections.update(
                derived_sections(analysis_input, sections, self.engine, self.generated_at, partial=True)
            )
            problems = grounding_errors(AnalysisData.model_construct(**sections), sent)
        except Exception:  # a partial document some check cannot read yet: the whole one is checked
            return []
        return [problem for problem in problems if _names(problem, step.section)]

    def _assemble(
        self, analysis_input: AnalysisInput, sent: AnalysisInput, accepted: dict[str, tuple[BaseModel, str]]
    ) -> AnalysisData:
        """The whole document, or _SendBack naming the step whose part fails a cross-check."""
        sections = _values(accepted)
        sections.update(self._derived(analysis_input, sections))
        try:
            data = validate_analysis(sections, hooks_count=analysis_input.hooks_count)
        except ValidationError as exc:
            problems = readable(exc)
            # A cross-check names the sections it compares: the later step had the earlier as context.
            culprit = self._culprit(problems, latest=True)
            if culprit is None:
                raise AnalysisEngineError(
                    f"The analysis did not validate: {'; '.join(problems[:5])}"
                ) from None
            raise _SendBack(culprit, problems) from None
        problems = grounding_errors(data, sent)
        if not problems:
            return data
        culprit = self._culprit(problems, latest=False)
        if culprit is None:
            raise AnalysisEngineError(f"The analysis is not grounded: {'; '.join(problems[:5])}")
        raise _SendBack(culprit, [p for p in problems if _names(p, culprit.section)])

    def _culprit(self, problems: list[str], latest: bool) -> Step | None:
        named = [step for step in self.steps if any(_names(problem, step.section) for problem in problems)]
        if not named:
            return None
        return named[-1] if latest else named[0]

    def _derived(self, analysis_input: AnalysisInput, sections: dict[str, Any]) -> dict[str, Any]:
        return derived_sections(analysis_input, sections, self.engine, self.generated_at)

    def _recorded(self, data: AnalysisData, meter: TokenMeter) -> AnalysisData:
        usage = meter.summary()
        log.info(
            "analysis chain done: %d tokens (%d prompt, %d completion), %.6f USD",
            usage.total_tokens,
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cost_usd,
        )
        if RUN_RECORD not in AnalysisData.model_fields:
            return data
        return data.model_copy(update={RUN_RECORD: usage})


def _values(accepted: dict[str, tuple[BaseModel, str]]) -> dict[str, Any]:
    return {section: getattr(answer, section) for section, (answer, _) in accepted.items()}


def _names(problem: str, section: str) -> bool:
    return re.search(rf"(?<![A-Za-z_]){re.escape(section)}(?![A-Za-z_])", problem) is not None
