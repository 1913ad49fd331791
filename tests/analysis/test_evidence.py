"""The local engine's evidence: every fetched reel of the creator is read, hook patterns rank by the
competitors they win at (creator and niche baselines), every score shows its inputs, and the same input
gives the same bytes, for every niche the simulator has."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from libs.analysis import AnalysisInput, CompetitorInput, LocalEngine, ProfileInput, grounding_errors
from libs.analysis.ideas import estimated_effectiveness
from libs.analysis.results import AnalysisData
from tests.analysis.conftest import NICHE_CREATORS, job_input
from tests.analysis.samples import BAKER_STRATEGY, GENERATED_AT, reel
from tests.analysis.test_local_engine import assert_timed, spoken
from tests.provider.provider_harness import StartSimulator

REPO = Path(__file__).resolve().parents[2]
STRATEGY = {
    "contentType": "Short educational reels",
    "targetAudience": "Busy professionals",
    "goals": "Grow followers",
}


def analyse(analysis_input: AnalysisInput) -> AnalysisData:
    return LocalEngine(clock=lambda: GENERATED_AT).analyse_now(analysis_input)


def as_bytes(data: AnalysisData) -> bytes:
    return orjson.dumps(data.model_dump(mode="json"))


def competitor(name: str, *reels_: object) -> CompetitorInput:
    return CompetitorInput(
        profile=ProfileInput(username=name, followers=20_000, median_views=10_000), reels=list(reels_)
    )


def spread_and_spike() -> AnalysisInput:
    """Question hooks win modestly at three competitors; one contrarian hook is a huge single spike."""
    question = "Why does your sourdough never rise? Because the starter is hungry."
    competitors = [
        competitor(name, reel(name, 1, 2.6 + i / 10, 26_000 + i * 1_000, question, None),
                   reel(name, 2, 0.8, 8_000, "My kitchen today, nothing special.", None))
        for i, name in enumerate(("ann.bakes", "ben.bakes", "cat.bakes"))
    ]  # fmt: skip
    spike = reel("dan.bakes", 1, 40.0, 400_000, "Stop buying bread from the supermarket.", None)
    competitors.append(
        competitor("dan.bakes", spike, reel("dan.bakes", 2, 0.9, 9_000, "Fresh loaves.", None))
    )
    own = [reel("breadbyines", 1, 1.2, 8_000, "My weekend sourdough loaf #sourdough", None)]
    return AnalysisInput(
        primary=ProfileInput(username="breadbyines", followers=12_400, median_views=6_500),
        primary_reels=own,
        competitors=competitors,
        content_strategy=BAKER_STRATEGY,
    )


async def test_a_pattern_winning_at_three_competitors_ranks_above_a_bigger_single_spike() -> None:
    data = analyse(spread_and_spike())
    patterns = data.profile_analysis.top_performing_patterns
    assert [(p.hook_type, p.competitors_won) for p in patterns] == [("question", 3), ("contrarian", 1)]
    assert patterns[0].strength < patterns[1].strength  # it ranks first although each win is far smaller
    assert patterns[0].competitor_usernames == ["ann.bakes", "ben.bakes", "cat.bakes"]
    assert {e.content_id for e in patterns[0].evidence} == {"ann.bakes-1", "ben.bakes-1", "cat.bakes-1"}
    first = data.generated_hooks[0]
    assert first.hook_type == "question" and first.pattern_rank == 1
    # The spread pattern's hook is also estimated above the spike's, and says why.
    spike = next(h for h in data.generated_hooks if h.hook_type == "contrarian")
    assert first.estimated_effectiveness > spike.estimated_effectiveness
    assert first.effectiveness_evidence.inputs["competitors_won"] == 3


async def test_a_reel_below_its_niches_median_does_not_win_and_the_niche_tempers_strength() -> None:
    analysis_input = spread_and_spike()
    # ann's win is 2.6x her own median but half the median of bread reels that month.
    changed = []
    for c in analysis_input.competitors:
        median = 52_000.0 if c.profile.username == "ann.bakes" else 13_000.0
        niche = {"category": "food", "niche_median_views": median, "niche_reels": 80}
        reels_ = [r.model_copy(update=niche) for r in c.reels]
        changed.append(c.model_copy(update={"reels": reels_}))
    data = analyse(analysis_input.model_copy(update={"competitors": changed}))
    question = data.profile_analysis.top_performing_patterns[0]
    assert question.hook_type == "question" and question.competitor_usernames == ["ben.bakes", "cat.bakes"]
    ben = next(e for e in question.evidence if e.username == "ben.bakes")
    assert (ben.niche_median_views, ben.niche_outlier_score, ben.category) == (13_000.0, 2.08, "food")
    # strength: the geometric mean of the creator multiple (2.7) and the niche multiple (2.08 / 2.15).
    assert question.strength == round((((2.7 * 2.08) ** 0.5) + ((2.8 * 2.15) ** 0.5)) / 2, 2)
    reel_ = next(r for r in data.individual_reel_analyses if r.content_id == "ben.bakes-1")
    assert reel_.niche_outlier_score == 2.08 and reel_.category == "food"


async def test_every_score_names_the_reels_and_numbers_it_came_from() -> None:
    analysis_input = spread_and_spike()
    data = analyse(analysis_input)
    known = {r.content_id: r for r in analysis_input.all_reels()}
    reels = {r.content_id: r for r in data.individual_reel_analyses}
    patterns = {p.hook_type: p for p in data.profile_analysis.top_performing_patterns}
    for hook in data.generated_hooks:
        evidence = hook.effectiveness_evidence
        assert set(evidence.reel_ids) <= set(known) and hook.source_reel_id in evidence.reel_ids
        source = reels[hook.source_reel_id]
        assert evidence.inputs["source_outlier_score"] == known[hook.source_reel_id].outlier_score
        # The score is recomputed from the evidence alone.
        again, _ = estimated_effectiveness(source, patterns.get(hook.hook_type))
        assert again == hook.estimated_effectiveness
    for item in data.individual_reel_analyses:
        inputs = item.effectiveness_evidence.inputs
        assert item.effectiveness_evidence.reel_ids == [item.content_id]
        assert inputs["outlier_score"] == known[item.content_id].outlier_score
        parts = ("reach_points", "type_points", "length_points", "wording_points")
        assert item.effectiveness_score == round(min(10.0, sum(inputs[p] or 0 for p in parts)), 1)
    for pattern in patterns.values():
        for e in pattern.evidence:
            assert (e.view_count, e.outlier_score) == (
                known[e.content_id].view_count,
                known[e.content_id].outlier_score,
            )
    content = data.profile_analysis.content_analysis
    assert set(content.evidence) == {"hook_strength_score", "consistency_score", "audience_focus_score",
                                     "strategy_fit_score", "overall_score"}  # fmt: skip
    for idea, hook in zip(data.viral_ideas, data.generated_hooks, strict=True):
        assert idea.confidence_score == round(hook.estimated_effectiveness / 10, 2)


@pytest.mark.parametrize("creator", NICHE_CREATORS)
async def test_every_niche_gives_a_valid_grounded_timed_analysis_byte_for_byte_again(
    start_simulator: StartSimulator, creator: str
) -> None:
    simulator = await start_simulator(seed=7)
    async with simulator.provider() as provider:
        analysis_input = await job_input(provider, creator, 5, STRATEGY)
    assert len(analysis_input.competitors) == 5
    # The profile analysis reads every fetched reel of the creator, not the three transcribed ones.
    assert len(analysis_input.primary_reels) > 10
    assert sum(1 for r in analysis_input.primary_reels if r.transcript) <= 3

    data = analyse(analysis_input)
    assert grounding_errors(data, analysis_input) == []
    assert data.profile_analysis.content_analysis.reels_analyzed == len(analysis_input.primary_reels)
    own = [r for r in data.individual_reel_analyses if r.reel_type == "primary"]
    assert len(own) == sum(1 for r in analysis_input.primary_reels if (r.caption or r.transcript))
    assert data.profile_analysis.top_performing_patterns
    for script in data.complete_scripts:
        assert_timed(script)
        assert script.word_count == len(spoken(script.full_script).split())
    once = as_bytes(data)
    assert as_bytes(analyse(analysis_input)) == once
    # Order does not matter: the same reels and competitors listed in another order.
    shuffled = random.Random(creator).sample
    reordered = analysis_input.model_copy(
        update={
            "primary_reels": shuffled(analysis_input.primary_reels, len(analysis_input.primary_reels)),
            "competitors": [
                c.model_copy(update={"reels": list(reversed(c.reels))})
                for c in reversed(analysis_input.competitors)
            ],
        }
    )
    assert as_bytes(analyse(reordered)) == once
    if creator == NICHE_CREATORS[0]:
        assert fresh_process(analysis_input) == once


def fresh_process(analysis_input: AnalysisInput) -> bytes:
    """The same input analysed by another interpreter with another hash seed (sets and dicts reorder)."""
    code = (
        "import sys, orjson; from libs.analysis import AnalysisInput, LocalEngine; "
        "from tests.analysis.samples import GENERATED_AT; "
        "given = AnalysisInput.model_validate_json(sys.stdin.buffer.read()); "
        "data = LocalEngine(clock=lambda: GENERATED_AT).analyse_now(given); "
        "sys.stdout.buffer.write(orjson.dumps(data.model_dump(mode='json')))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, input=analysis_input.model_dump_json().encode(),
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    return done.stdout
