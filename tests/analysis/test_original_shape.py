"""A frontend written for the original's results response renders from ours: every field the original
had (tests/fixtures/original_results_shape.json) is in the gateway's sections with the right JSON type.
The full response, through the real endpoint, is checked in tests/e2e/test_viral_analysis.py."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from libs.analysis import LocalEngine
from services.gateway.analysis_results import analysis_sections
from tests.analysis.samples import GENERATED_AT, baker_input
from tests.support.shapes import load_shape, shape_problems

SHAPE = load_shape("original_results_shape.json")
# Those come from the database rows around analysis_data, not from the engine.
AROUND = ("analysis", "primary_profile", "analyzed_reels")


@pytest.fixture(scope="module")
def sections() -> dict[str, Any]:
    data = LocalEngine(clock=lambda: GENERATED_AT).analyse_now(baker_input())
    # As stored: JSON in, JSON out.
    return orjson.loads(orjson.dumps(analysis_sections(orjson.loads(data.model_dump_json()))))


def test_every_field_of_the_original_is_there_with_its_type(sections: dict[str, Any]) -> None:
    shape = {name: value for name, value in SHAPE.items() if name not in AROUND}
    assert shape_problems(sections, shape) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda s: s["generated_hooks"][0].pop("hook_id"), "data.generated_hooks[0].hook_id is missing"),
        (lambda s: s.update(scripts_summary={"total_scripts": 5}), "data.scripts_summary is object"),
        (lambda s: s["viral_ideas"][1].update(confidence_score="high"), "confidence_score is string"),
        (lambda s: s.update(individual_reel_analyses=[]), "empty array"),
    ],
)
def test_the_check_notices_a_missing_or_mistyped_field(
    sections: dict[str, Any], change: Any, complaint: str
) -> None:
    broken = copy.deepcopy(sections)
    change(broken)
    assert complaint in "\n".join(shape_problems(broken, SHAPE))


def test_a_run_stored_before_the_new_shape_still_gives_lists(sections: dict[str, Any]) -> None:
    """analysis_data of a local-1.0 run: scripts_summary an object, no viral_ideas section."""
    old = copy.deepcopy(sections["analysis_data"])
    overview = old.pop("scripts_overview")
    old["scripts_summary"] = overview
    old.pop("viral_ideas")
    served = analysis_sections(old)
    assert served["scripts_overview"] == overview
    assert [item["hook"] for item in served["scripts_summary"]] == [
        s["hook"] for s in old["complete_scripts"]
    ]
    assert [idea["hook"] for idea in served["viral_ideas"]] == old["generated_hooks"]
