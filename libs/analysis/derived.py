"""The sections of analysis_data that only sum up the others, computed by the local engine's own rules
for whichever engine wrote the rest: a language model is never asked for what we can count.

A new summary section of AnalysisData gets its line in DERIVED; one without is asked of the model as a
step of its own (libs/analysis/chain.py), so the chain never silently leaves a section out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from .models import AnalysisInput
from .results import AnalysisData
from .summary import analysis_summary, scripts_overview, scripts_summary, viral_ideas

# (the input, the sections so far by name, the engine's name, when) -> the section
Derivation = Callable[[AnalysisInput, Mapping[str, Any], str, datetime], Any]

DERIVED: dict[str, Derivation] = {
    "scripts_summary": lambda _input, s, _engine, _at: scripts_summary(
        s["generated_hooks"], s["complete_scripts"]
    ),
    "scripts_overview": lambda _input, s, _engine, _at: scripts_overview(
        s["generated_hooks"], s["complete_scripts"]
    ),
    "viral_ideas": lambda _input, s, _engine, _at: viral_ideas(s["generated_hooks"]),
    "analysis_summary": lambda analysis_input, s, engine, at: analysis_summary(
        analysis_input, s["individual_reel_analyses"], s["profile_analysis"].unexplored_topics, engine, at
    ),
}


def derived_sections(
    analysis_input: AnalysisInput,
    sections: Mapping[str, Any],
    engine: str,
    generated_at: datetime,
    *,
    partial: bool = False,
) -> dict[str, Any]:
    """Every derived section of AnalysisData, from the validated sections the steps gave. partial: the
    document is still being written (the chain's per-step checks), and a section that cannot be
    derived from what is there yet is left out instead of failing."""
    derived = {}
    for name in derived_names():
        try:
            derived[name] = DERIVED[name](analysis_input, sections, engine, generated_at)
        except Exception:
            if not partial:
                raise
    return derived


def derived_names() -> tuple[str, ...]:
    return tuple(name for name in DERIVED if name in AnalysisData.model_fields)
