"""Reading hooks: where the hook is, what kind it is, and how a competitor's skeleton is reused."""

from __future__ import annotations

import pytest

from infra.simulator.vocabulary import HOOKS, NICHES
from libs.analysis import ReelInput
from libs.analysis.adapt import adapt
from libs.analysis.hooks import classify, effectiveness, emotional_triggers, hook_of, power_words


@pytest.mark.parametrize(
    ("hook", "kind"),
    [
        ("Why is nobody talking about index funds?", "question"),
        ("Are you still eating 1200 calories?", "question"),
        ("5 fat loss tips nobody tells you.", "number_list"),
        ("Three ways to fix a flat loaf", "number_list"),
        ("The 7 habits that doubled my savings", "number_list"),
        ("Stop doing endless cardio.", "contrarian"),
        ("You're doing meal prep wrong.", "contrarian"),
        ("Never rinse your rice again", "contrarian"),
        ("The protein myth that won't die", "contrarian"),
        ("I tried sourdough for 30 days and here's what happened.", "story"),
        ("When I quit my job I had no plan", "story"),
        ("My first year as a baker", "story"),
        ("Here's how to get visible abs in 7 days.", "how_to"),
        ("How to shape a loaf that holds its shape", "how_to"),
        ("The best pretzel dip you will ever make", "bold_claim"),
        ("This is the easiest bread on the internet", "bold_claim"),
        ("The fat loss trick that changed everything for me.", "curiosity_gap"),
        ("This budgeting mistake is costing you your first hundred thousand.", "curiosity_gap"),
        ("The secret ingredient in restaurant pasta", "curiosity_gap"),
        ("If you bake on weekends, watch this", "direct_address"),
        ("Your starter is hungry", "direct_address"),
        ("", "direct_address"),
    ],
)
def test_hook_types(hook: str, kind: str) -> None:
    assert classify(hook) == kind


def reel(caption: str | None, transcript: str | None) -> ReelInput:
    return ReelInput(
        content_id="1",
        shortcode="abc",
        url="https://x/reel/abc/",
        username="a",
        caption=caption,
        transcript=transcript,
    )


def test_the_hook_is_the_first_line_of_the_transcript_before_the_caption() -> None:
    assert hook_of(reel("Caption line. More.", "Spoken first. Spoken second.")) == "Spoken first."
    assert hook_of(reel("Caption line\nsecond line #tag", None)) == "Caption line"
    assert hook_of(reel("#sourdough #bread\nWhy it rises", "")) == "Why it rises"
    assert hook_of(reel(None, None)) == ""


def test_a_short_question_keeps_its_answer() -> None:
    assert (
        hook_of(reel(None, "Want visible abs? Do this instead. Then more."))
        == "Want visible abs? Do this instead."
    )


def test_a_long_opening_is_cut_at_a_word() -> None:
    hook = hook_of(reel(None, "word " * 200))
    assert len(hook) <= 300
    assert hook.endswith("…") and "wor…" not in hook


def test_power_words_and_triggers_come_from_the_hook() -> None:
    hook = "Stop making this costly mistake before it's too late"
    assert power_words(hook) == ["stop", "mistake"]
    assert emotional_triggers(hook) == ["fear", "urgency"]
    assert "curiosity" in emotional_triggers("What is a sourdough starter?")


def test_effectiveness_grows_with_the_outlier_score_and_stays_within_ten() -> None:
    hook = "5 fat loss tips nobody tells you."
    scores = [effectiveness(hook, "number_list", outlier) for outlier in (0, 1, 3, 10, 30, 1000)]
    assert scores == sorted(scores)
    assert scores[0] >= 0 and scores[-1] <= 10
    assert effectiveness(hook, "number_list", 5) > effectiveness(hook, "direct_address", 5)


@pytest.mark.parametrize(
    ("original", "adapted"),
    [
        ("5 fat loss tips nobody tells you.", "5 sourdough tips nobody tells you."),
        ("Why is nobody talking about index funds?", "Why is nobody talking about sourdough?"),
        ("7 things I wish I knew about meal prep sooner.", "7 things I wish I knew about sourdough sooner."),
        (
            "I tried solo travel for 14 days and here's what happened.",
            "I tried sourdough for 14 days and here's what happened.",
        ),
        ("Stop doing endless cardio if you want visible abs.", "Stop overthinking sourdough."),
        (
            "This pasta mistake is costing you crispier potatoes.",
            "This sourdough mistake is costing you more than you think.",
        ),
        (
            "The budgeting trick that changed everything for me.",
            "The sourdough trick that changed everything for me.",
        ),
        (
            "Here's how to get a faster laptop in 30 days.",
            "Here's how to get started with sourdough in 30 days.",
        ),
    ],
)
def test_adapting_keeps_the_skeleton_and_swaps_the_subject(original: str, adapted: str) -> None:
    assert adapt(original, classify(original), "sourdough") == adapted


def test_every_simulated_hook_form_adapts_to_a_hook_of_the_same_type() -> None:
    for niche in NICHES:
        for template in HOOKS:
            original = template.format(
                mistake=niche.mistakes[0], result=niche.results[0], topic=niche.topics[0], n=5, days=14
            )
            kind = classify(original)
            adapted = adapt(original, kind, "lunchbox ideas", "busy parents")
            assert "lunchbox ideas" in adapted, original
            assert classify(adapted) == kind, (original, adapted)
            assert niche.topics[0].lower() not in adapted.lower(), (original, adapted)


def test_unrecognised_hooks_get_their_types_usual_form() -> None:
    assert adapt("Your starter is hungry", "direct_address", "rye bread", "new bakers") == (
        "New bakers, you need to hear this about rye bread."
    )
    assert adapt("Best. Loaf. Ever.", "bold_claim", "rye bread") == (
        "Rye bread is the most underrated skill you can learn this year."
    )
