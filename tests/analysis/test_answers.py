"""Reading a step's answer: the repairs that cannot change what the model said, and the chain's steps
read from the schema itself."""

from __future__ import annotations

import orjson
import pytest

from libs.analysis.answers import decode
from libs.analysis.asking import Rejected
from libs.analysis.derived import DERIVED, derived_names
from libs.analysis.results import AnalysisData
from libs.analysis.steps import RUN_RECORD, chain_steps

PROFILE = {"core_identity": "Sourdough for beginners", "themes": ["sourdough"]}
ANSWER = orjson.dumps({"profile_analysis": PROFILE}).decode()


@pytest.mark.parametrize(
    "content",
    [
        f"```json\n{ANSWER}\n```",
        f"Here is the profile:\n```\n{ANSWER}\n```\nAnything else?",
        f"Sure! {ANSWER} Let me know if you need more.",
        orjson.dumps(PROFILE).decode(),
        orjson.dumps({"profile_analysis": PROFILE, "generated_hooks": []}).decode(),
    ],
    ids=["fenced", "fenced-with-words", "between-words", "without-its-key", "with-another-section"],
)
def test_a_repairable_answer_is_read_as_its_section_and_flagged(content: str) -> None:
    assert decode(content, "profile_analysis", False, "stop") == ({"profile_analysis": PROFILE}, True)


def test_a_clean_answer_needs_no_repair() -> None:
    assert decode(ANSWER, "profile_analysis", False, "stop") == ({"profile_analysis": PROFILE}, False)


def test_a_list_section_given_bare_is_wrapped() -> None:
    hooks = [{"hook_text": "Stop buying bread"}]
    assert decode(orjson.dumps(hooks).decode(), "generated_hooks", True, None) == (
        {"generated_hooks": hooks},
        True,
    )


@pytest.mark.parametrize(
    ("content", "reason", "finish"),
    [
        ("Sure! Here is your analysis: {profile_analysis: ...", "not valid JSON", "stop"),
        ('{"profile_analysis": {"core_identity": "Sourdough fo', "the answer was cut off", "length"),
        ("[]", 'a JSON object with the key "profile_analysis"', "stop"),
        ('["a", "b"]', 'a JSON object with the key "profile_analysis"', "stop"),
    ],
)
def test_an_answer_that_cannot_be_read_is_rejected(content: str, reason: str, finish: str) -> None:
    with pytest.raises(Rejected) as rejected:
        decode(content, "profile_analysis", False, finish)
    assert rejected.value.outcome == "invalid_json"
    assert reason in rejected.value.problems[0]


def test_every_section_is_a_step_a_summary_or_the_run_record() -> None:
    steps = [step.section for step in chain_steps()]
    assert steps[:4] == [
        "profile_analysis",
        "individual_reel_analyses",
        "generated_hooks",
        "complete_scripts",
    ]
    assert sorted([*steps, *derived_names(), RUN_RECORD]) == sorted(AnalysisData.model_fields)
    assert set(derived_names()) == set(DERIVED) & set(AnalysisData.model_fields)


def test_a_steps_answer_is_held_to_exactly_its_fields_schema() -> None:
    for step in chain_steps():
        field = AnalysisData.model_fields[step.section]
        schema = step.answer.model_json_schema()
        assert schema["required"] == [step.section] and schema["additionalProperties"] is False
        assert step.answer.model_fields[step.section].metadata == field.metadata
