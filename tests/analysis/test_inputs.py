"""Input models accept what the service stores and the provider returns."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from libs.analysis import AnalysisInput, ContentStrategy, ProfileInput, ReelInput


def test_a_stored_strategy_may_be_partial_null_or_carry_other_keys() -> None:
    assert ContentStrategy.model_validate({}).is_empty()
    strategy = ContentStrategy.model_validate(
        {"contentType": " Business Tips ", "additionalNotes": None, "tone": "friendly"}
    )
    assert (strategy.contentType, strategy.additionalNotes) == ("Business Tips", "")


def test_strategy_fields_are_bounded() -> None:
    with pytest.raises(ValidationError, match="at most 500"):
        ContentStrategy(goals="x" * 501)


def test_numeric_reel_ids_become_strings() -> None:
    reel = ReelInput.model_validate(
        {"content_id": 3_100_200_300, "shortcode": "abc", "url": "https://x/reel/abc/", "username": "a"}
    )
    assert reel.content_id == "3100200300"


def test_hooks_count_defaults_to_five_and_stays_between_one_and_twenty() -> None:
    def count(settings: dict[str, object]) -> int:
        return AnalysisInput(primary=ProfileInput(username="a"), settings=settings).hooks_count

    assert count({}) == 5
    assert count({"hooks_count": "8"}) == 8
    assert count({"hooks_count": 7.9}) == 7
    assert (count({"hooks_count": -3}), count({"hooks_count": 500})) == (1, 20)
    assert count({"hooks_count": [5]}) == 5
