"""analysis_data is held to its shape: sections, counts, bounds and cross-references."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from libs.analysis import AnalysisData, LocalEngine, validate_analysis
from tests.analysis.samples import GENERATED_AT, baker_input

SECTIONS = {
    "profile_analysis",
    "individual_reel_analyses",
    "generated_hooks",
    "complete_scripts",
    "scripts_summary",
    "scripts_overview",
    "viral_ideas",
    "analysis_summary",
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return LocalEngine(clock=lambda: GENERATED_AT).analyse_now(baker_input()).model_dump(mode="json")


def broken(document: dict[str, Any], change: Any) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def test_the_stored_json_has_exactly_its_sections_and_reads_back(document: dict[str, Any]) -> None:
    assert set(document) == SECTIONS
    assert set(document["profile_analysis"]) == {
        "core_identity",
        "themes",
        "audience",
        "pain_points",
        "unexplored_topics",
        "content_strategy_fit",
        "profile_summary",
        "top_performing_patterns",
        "new_content_opportunities",
        "content_analysis",
    }
    assert set(document["generated_hooks"][0]["adapted_from"]) == {
        "content_id",
        "username",
        "shortcode",
        "url",
        "original_hook",
        "outlier_score",
        "view_count",
    }
    assert document["analysis_summary"]["generated_at"] == "2026-03-01T09:30:00Z"
    assert validate_analysis(document, hooks_count=5).model_dump(mode="json") == document


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d.update(extra_section={}), "extra_section"),
        (lambda d: d["profile_analysis"].update(mood="sunny"), "mood"),
        (
            lambda d: d["individual_reel_analyses"][0].update(effectiveness_score=10.5),
            "less than or equal to 10",
        ),
        (lambda d: d["individual_reel_analyses"][0].update(hook_type="meme"), "hook_type"),
        (lambda d: d["profile_analysis"].update(unexplored_topics=["one", "two"]), "at least 5"),
        (lambda d: d["complete_scripts"].pop(), "one per generated hook"),
        (lambda d: d["generated_hooks"][1].update(target_topic="knitting"), "not one of profile_analysis"),
        (lambda d: d["complete_scripts"][2].update(hook="Something else"), "must repeat"),
        (lambda d: d["scripts_overview"].update(total_scripts=4), "total_scripts"),
        (lambda d: d["scripts_summary"].pop(), "one item per script"),
        (lambda d: d["viral_ideas"][0].update(hook_id="hook-9"), "must name hook"),
        (lambda d: d["generated_hooks"][1].update(hook_id="hook-1"), "hook_id must be unique"),
        (lambda d: d["viral_ideas"][0].update(confidence_score=1.5), "less than or equal to 1"),
        (
            lambda d: d["complete_scripts"][0].update(
                estimated_duration_seconds=d["complete_scripts"][0]["estimated_duration_seconds"] + 1
            ),
            "add up to",
        ),
        (
            lambda d: d["complete_scripts"][0]["structure_breakdown"]["problem"].update(start_second=0),
            "must start at",
        ),
        (lambda d: d["complete_scripts"][0]["visual_suggestions"].pop(), "at least 4|must end at"),
        (lambda d: d["generated_hooks"][0].pop("effectiveness_evidence"), "effectiveness_evidence"),
        (lambda d: d["profile_analysis"]["profile_summary"].update(vibe="x"), "vibe"),
        (lambda d: d["individual_reel_analyses"][0].update(reel_type="other"), "reel_type"),
        (lambda d: d["analysis_summary"].update(key_insights=["only one"]), "at least 3"),
        (lambda d: d["profile_analysis"].update(core_identity="x" * 2001), "at most 2000"),
        (lambda d: d["analysis_summary"].pop("top_outlier"), "top_outlier"),
    ],
)
def test_a_document_that_breaks_the_shape_is_rejected(
    document: dict[str, Any], change: Any, complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        validate_analysis(broken(document, change), hooks_count=5)


def test_the_number_of_hooks_is_pinned_only_when_asked(document: dict[str, Any]) -> None:
    AnalysisData.model_validate(document)
    with pytest.raises(ValidationError, match="expected exactly 6"):
        validate_analysis(document, hooks_count=6)
