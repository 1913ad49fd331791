"""The language-model chain's steps, read from AnalysisData itself: one step per section a model writes,
each held to that section's own part of the schema; the summary sections are ours (libs/analysis/derived.py).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from functools import cache

from pydantic import BaseModel, ConfigDict, create_model

from .derived import DERIVED
from .results import AnalysisData

# The steps in the order each one's answer becomes the next ones' context.
NAMED_STEPS = (
    ("profile", "profile_analysis"),
    ("hooks", "individual_reel_analyses"),
    ("generation", "generated_hooks"),
    ("scripts", "complete_scripts"),
)
# Filled by the engine about its own run, never by the model.
RUN_RECORD = "llm_usage"


@dataclass(frozen=True)
class Step:
    name: str
    section: str
    # {section: its value}, validated exactly as AnalysisData validates that field.
    answer: type[BaseModel]

    @property
    def is_list(self) -> bool:
        return typing.get_origin(self.answer.model_fields[self.section].annotation) is list


@cache
def chain_steps() -> tuple[Step, ...]:
    """The named steps present in AnalysisData, then a step for any section neither named nor derived."""
    fields = AnalysisData.model_fields
    named = [(name, section) for name, section in NAMED_STEPS if section in fields]
    known = {section for _, section in named} | set(DERIVED) | {RUN_RECORD}
    named += [(section, section) for section in fields if section not in known]
    return tuple(Step(name, section, _answer_model(name, section)) for name, section in named)


def _answer_model(name: str, section: str) -> type[BaseModel]:
    field = AnalysisData.model_fields[section]
    model: type[BaseModel] = create_model(
        f"{name.title().replace('_', '')}StepAnswer",
        __config__=ConfigDict(extra="forbid"),
        **{section: (field.annotation, field)},  # type: ignore[call-overload]
    )
    return model
