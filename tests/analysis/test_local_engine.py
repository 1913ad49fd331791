"""The local engine on a hand-written input and on a creator fetched from the simulator over HTTP."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from libs.analysis import (
    AnalysisData,
    AnalysisEngineError,
    AnalysisInput,
    ContentStrategy,
    LocalEngine,
    grounding_errors,
    validate_analysis,
)
from libs.analysis.hooks import hook_of
from libs.analysis.results import Script
from libs.analysis.text import key_of, sentences
from tests.analysis.samples import GENERATED_AT, PARENT_STRATEGY, baker_input, without_transcripts

REPO = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^\[(\d+):(\d\d)-(\d+):(\d\d)\] (HOOK|PROBLEM|SOLUTION|CALL TO ACTION): ", re.M)


def spoken(full_script: str) -> str:
    return MARKER.sub("", full_script)


def assert_timed(script: Script) -> None:
    """The breakdown's seconds add up to the duration; the markers and the shots say the same times."""
    parts = script.structure_breakdown.segments()
    assert sum(segment.seconds for _, segment in parts) == script.estimated_duration_seconds
    marks = [
        (int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4]), m[5])
        for m in MARKER.finditer(script.full_script)
    ]
    assert marks == [
        (segment.start_second, segment.end_second, name.replace("_", " ").upper()) for name, segment in parts
    ]
    assert [line.split(": ", 1)[1] for line in script.full_script.splitlines()] == [s.text for _, s in parts]
    shots = script.visual_suggestions
    assert shots[0].start_second == 0 and shots[-1].end_second == script.estimated_duration_seconds
    assert all(a.end_second == b.start_second for a, b in itertools.pairwise(shots))
    for shot in shots:
        segment = getattr(script.structure_breakdown, shot.segment)
        assert segment.start_second <= shot.start_second < shot.end_second <= segment.end_second


def analyse(analysis_input: AnalysisInput) -> AnalysisData:
    return LocalEngine(clock=lambda: GENERATED_AT).analyse_now(analysis_input)


def assert_sound(data: AnalysisData, analysis_input: AnalysisInput, hooks: int = 5) -> None:
    """What every analysis promises, whatever the input."""
    assert validate_analysis(data.model_dump(mode="json"), hooks_count=hooks) == data
    assert grounding_errors(data, analysis_input) == []
    assert len(data.generated_hooks) == len(data.complete_scripts) == hooks
    topics = data.profile_analysis.unexplored_topics
    assert len(topics) >= 5
    competitor_reels = {reel.content_id: reel for reel in analysis_input.competitor_reels()}
    for hook, script in zip(data.generated_hooks, data.complete_scripts, strict=True):
        assert hook.target_topic in topics
        assert hook.target_topic.lower() in hook.hook_text.lower()
        if competitor_reels:
            source = competitor_reels[hook.adapted_from.content_id]
            assert hook.adapted_from.original_hook == hook_of(source)
            assert (hook.adapted_from.url, hook.adapted_from.username) == (source.url, source.username)
        assert hook.hook_text != hook.adapted_from.original_hook
        assert script.hook == hook.hook_text
        assert script.word_count == len(spoken(script.full_script).split())
        assert_timed(script)
        assert 10 <= script.estimated_duration_seconds <= 60
    assert data.analysis_summary.engine == "local"
    assert data.analysis_summary.generated_at == GENERATED_AT


async def test_hand_written_input_gives_a_grounded_analysis() -> None:
    analysis_input = baker_input()
    data = await LocalEngine(clock=lambda: GENERATED_AT).analyse(analysis_input)

    assert_sound(data, analysis_input)
    summary = data.analysis_summary
    assert summary.primary_username == "breadbyines"
    assert summary.competitors_analyzed == 3
    assert summary.reels_analyzed == 11
    assert summary.transcripts_used == 9
    assert summary.top_outlier.content_id == "the.bagel.lab-1"
    assert 3 <= len(summary.key_insights) <= 6
    by_id = {item.content_id: item for item in data.individual_reel_analyses}
    assert by_id["the.bagel.lab-1"].hook_text == "Why is nobody talking about homemade bagels?"
    assert by_id["the.bagel.lab-1"].hook_type == "question"
    assert by_id["glutenfree.gina-1"].hook_type == "contrarian"
    assert by_id["crumbcoach-1"].hook_type == "how_to"
    assert by_id["crumbcoach-2"].hook_type == "story"
    # Every pattern wins at one competitor here, so the biggest multiple ranks first and is adapted first.
    patterns = data.profile_analysis.top_performing_patterns
    assert [p.hook_type for p in patterns][:3] == ["question", "contrarian", "how_to"]
    assert data.generated_hooks[0].adapted_from.content_id == patterns[0].evidence[0].content_id
    assert data.generated_hooks[0].pattern_rank == 1


async def test_topics_come_from_competitors_and_the_strategy_not_from_what_the_creator_posts() -> None:
    data = analyse(baker_input())
    topics = data.profile_analysis.unexplored_topics

    assert "gluten free" in topics  # the stated content type, never posted by the creator
    assert "homemade bagels" in topics  # a competitor's outlier, never posted by the creator
    assert not any("sourdough" in topic for topic in topics)
    assert "sourdough" in data.profile_analysis.themes


async def test_scripts_teach_steps_taken_from_competitor_transcripts() -> None:
    analysis_input = baker_input()
    data = analyse(analysis_input)
    said = {
        sentence.lower().rstrip(".")
        for reel in analysis_input.competitor_reels()
        for sentence in sentences(reel.transcript or "")
    }
    gluten_free = next(
        s
        for h, s in zip(data.generated_hooks, data.complete_scripts, strict=True)
        if h.target_topic == "gluten free"
    )

    steps = re.split(
        r"\s*(?:First|Then|Finally), ", gluten_free.solution.removeprefix("Here's what works instead.")
    )
    steps = [step.strip().lower().rstrip(".") for step in steps if step.strip()]
    assert len(steps) == 3
    assert set(steps) <= said
    assert any("psyllium husk" in step for step in steps)
    # "Grow followers" comes first among the goals, so the ask is a follow.
    assert gluten_free.call_to_action == "Follow for more on gluten free for beginner home bakers."


async def test_a_different_strategy_gives_different_topics_reasons_and_asks() -> None:
    baker = analyse(baker_input())
    parent = analyse(baker_input(content_strategy=PARENT_STRATEGY))

    assert baker.profile_analysis.unexplored_topics != parent.profile_analysis.unexplored_topics
    assert {"breakfasts", "lunchbox ideas"} <= set(parent.profile_analysis.unexplored_topics)
    assert "Busy parents" in parent.generated_hooks[0].why_it_fits
    assert "Beginner home bakers" in baker.generated_hooks[0].why_it_fits
    assert "busy parents" in parent.complete_scripts[0].problem
    assert baker.complete_scripts[0].call_to_action != parent.complete_scripts[0].call_to_action
    assert "Quick breakfasts" in parent.profile_analysis.content_strategy_fit


async def test_an_empty_strategy_still_gives_a_full_analysis() -> None:
    analysis_input = baker_input(content_strategy=ContentStrategy())
    data = analyse(analysis_input)

    assert_sound(data, analysis_input)
    assert "No content strategy" in data.profile_analysis.content_strategy_fit


def test_same_input_gives_the_same_analysis_even_in_another_process() -> None:
    here = analyse(baker_input()).model_dump(mode="json")
    assert analyse(baker_input()).model_dump(mode="json") == here

    code = (
        "import json; from libs.analysis import LocalEngine; "
        "from tests.analysis.samples import GENERATED_AT, baker_input; "
        "print(json.dumps(LocalEngine(clock=lambda: GENERATED_AT).analyse_now(baker_input()).model_dump(mode='json')))"
    )
    # A different hash seed reorders every set and dict of strings: the output must not notice.
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == here


async def test_reels_without_transcripts_are_read_from_their_captions() -> None:
    analysis_input = without_transcripts(baker_input())
    data = analyse(analysis_input)

    assert_sound(data, analysis_input)
    assert data.analysis_summary.transcripts_used == 0
    by_id = {item.content_id: item for item in data.individual_reel_analyses}
    assert by_id["glutenfree.gina-1"].hook_text == "Stop buying gluten free bread."
    assert by_id["crumbcoach-1"].hook_text == "How to shape a loaf that holds its shape"


async def test_a_creator_without_reels_is_analysed_from_bio_and_strategy() -> None:
    analysis_input = baker_input(primary_reels=[])
    data = analyse(analysis_input)

    assert_sound(data, analysis_input)
    assert "No reels of theirs" in data.profile_analysis.core_identity
    assert all(item.username != "breadbyines" for item in data.individual_reel_analyses)


async def test_few_competitor_reels_are_reused_for_every_hook() -> None:
    analysis_input = baker_input()
    one = analysis_input.competitors[0].model_copy(update={"reels": analysis_input.competitors[0].reels[:1]})
    thin = baker_input(competitors=[one], settings={"hooks_count": 7})
    data = analyse(thin)

    assert_sound(data, thin, hooks=7)
    assert {hook.adapted_from.content_id for hook in data.generated_hooks} == {"glutenfree.gina-1"}
    # Every topic serves in turn, except the one the source hook is already about.
    said = set(key_of("Stop buying gluten free bread."))
    usable = {topic for topic in data.profile_analysis.unexplored_topics if not set(key_of(topic)) <= said}
    assert len(usable) >= 4
    assert {hook.target_topic for hook in data.generated_hooks} == usable


async def test_without_competitors_the_creators_own_best_hooks_are_adapted() -> None:
    analysis_input = baker_input(competitors=[], settings={"hooks_count": 3})
    data = analyse(analysis_input)

    assert_sound(data, analysis_input, hooks=3)
    assert {hook.adapted_from.username for hook in data.generated_hooks} == {"breadbyines"}


async def test_nothing_to_read_is_a_clear_error() -> None:
    silent = [
        reel.model_copy(update={"caption": None, "transcript": None}) for reel in baker_input().primary_reels
    ]
    with pytest.raises(AnalysisEngineError, match="Nothing to analyse"):
        analyse(baker_input(primary_reels=silent, competitors=[]))


async def test_odd_hooks_count_settings_fall_back_to_five() -> None:
    for settings in ({}, {"hooks_count": "lots"}, {"hooks_count": None}, {"hooks_count": True}):
        assert len(analyse(baker_input(settings=settings)).generated_hooks) == 5
    assert len(analyse(baker_input(settings={"hooks_count": 0})).generated_hooks) == 1
    assert len(analyse(baker_input(settings={"hooks_count": 99})).generated_hooks) == 20


async def test_a_simulated_creator_fetched_over_http(simulated_input: AnalysisInput) -> None:
    data = analyse(simulated_input)

    assert_sound(data, simulated_input)
    assert data.analysis_summary.competitors_analyzed == 3
    with_speech = [reel for reel in simulated_input.all_reels() if reel.transcript]
    assert with_speech, "the simulator gives most reels speech"
    assert data.analysis_summary.transcripts_used == len(with_speech)
    by_id = {item.content_id: item for item in data.individual_reel_analyses}
    for reel in with_speech:
        # The hook is the transcript's own opening sentence, not text the engine made up.
        assert by_id[reel.content_id].hook_text in reel.transcript  # type: ignore[operator]
    competitor_views = {reel.content_id: reel.view_count for reel in simulated_input.competitor_reels()}
    for hook in data.generated_hooks:
        assert hook.adapted_from.view_count == competitor_views[hook.adapted_from.content_id]
        assert "Busy moms" in hook.why_it_fits


async def test_the_strategy_changes_the_ideas_for_a_simulated_creator(simulated_input: AnalysisInput) -> None:
    other = simulated_input.model_copy(
        update={
            "content_strategy": ContentStrategy(
                contentType="Meal prep, protein recipes",
                targetAudience="College students",
                goals="Build a community",
            )
        }
    )
    first, second = analyse(simulated_input), analyse(other)

    assert first.profile_analysis.unexplored_topics != second.profile_analysis.unexplored_topics
    assert "protein recipes" in second.profile_analysis.unexplored_topics
    assert [h.why_it_fits for h in first.generated_hooks] != [h.why_it_fits for h in second.generated_hooks]
    assert all("college students" in script.problem.lower() for script in second.complete_scripts)
    assert all("comments" in script.call_to_action for script in second.complete_scripts)
