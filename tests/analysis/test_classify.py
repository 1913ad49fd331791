"""The local classifier: the simulator's creators in their niche and language, hand-written texts in
their language, style and hook type, bounded keywords from the texts, and the same answer every time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.simulator.vocabulary import FIRST_NAMES, NICHES
from infra.simulator.world import creator, reels_of, transcript_of
from libs.analysis import (
    LOCAL_CLASSIFIER,
    ContentText,
    CreatorText,
    categorise,
    classify_profile,
    classify_reels,
    detect_language,
)
from libs.analysis.hooks import classify as hook_classify
from libs.categories import CATEGORY_NAMES, CONTENT_STYLES, LANGUAGES, MAX_KEYWORDS

SEED = 7
NOW_TS = 1_772_323_200  # 2026-03-01
REELS = 50
ROOT = Path(__file__).resolve().parents[2]
# The simulator translates its fitness and cooking creators; a name ending in a marker speaks it.
TRANSLATED = ("fitness", "cooking")
MARKERS = {"es": ".es", "pt": "_br", "de": ".de", "fr": ".fr"}


def english_names() -> list[str]:
    """Per niche, each of its username words with a few first names: 'gym.maya', 'chef.omar'...,
    and names with no niche word, which the simulator files under a niche by hash."""
    names = [
        f"{handle}.{first}"
        for niche in NICHES
        for index, handle in enumerate(niche.handles)
        for first in FIRST_NAMES[index * 2 : index * 2 + 2]
    ]
    return names + [f"{first}.{last}" for first, last in zip(FIRST_NAMES, FIRST_NAMES[5:], strict=False)][:12]


def translated_names() -> list[str]:
    handles = {niche.name: niche.handles[:3] for niche in NICHES if niche.name in TRANSLATED}
    return [
        f"{handle}.{first}{marker}"
        for marker in MARKERS.values()
        for handles_of_niche in handles.values()
        for handle, first in zip(handles_of_niche, FIRST_NAMES[3:], strict=False)
    ]


def simulated(username: str, *, transcripts: bool) -> tuple[CreatorText, list[ContentText]]:
    who = creator(SEED, username)
    reels = reels_of(SEED, username, NOW_TS)[:REELS]
    content = [
        ContentText(str(reel.pk), reel.caption, transcript_of(SEED, username, reel) if transcripts else None)
        for reel in reels
    ]
    account = "business" if who.is_business else "personal"
    return CreatorText(username, who.full_name, who.biography, account), content


def test_the_sample_covers_every_niche_and_translated_language() -> None:
    names = english_names() + translated_names()
    assert len(names) >= 60
    seen = {(creator(SEED, name).niche.name, creator(SEED, name).language) for name in names}
    assert {niche.name for niche in NICHES} <= {niche for niche, _ in seen}
    assert {(niche, language) for niche in TRANSLATED for language in MARKERS} <= seen


@pytest.mark.parametrize("transcripts", [False, True], ids=["captions", "captions-and-transcripts"])
def test_every_simulated_creator_comes_out_in_its_niche_and_language(transcripts: bool) -> None:
    """All of them, not a rate: the simulator's words leave no creator ambiguous at the profile level."""
    wrong = []
    for name in english_names() + translated_names():
        who = creator(SEED, name)
        profile = categorise(*simulated(name, transcripts=transcripts)).profile
        if (profile.primary_category, profile.language) != (who.niche.name, who.language):
            wrong.append((name, who.niche.name, who.language, profile.primary_category, profile.language))
    assert wrong == []


def test_beauty_creators_talk_fashion_too_and_get_it_as_their_secondary_category() -> None:
    """The simulator's beauty niche is 'beauty and style': capsule wardrobes, thrift finds, #fashion."""
    for name in [n for n in english_names() if creator(SEED, n).niche.name == "beauty"]:
        profile = categorise(*simulated(name, transcripts=False)).profile
        assert (profile.primary_category, profile.secondary_category) == ("beauty", "fashion"), name


def test_each_simulated_reel_gets_a_category_language_and_style_of_the_taxonomy() -> None:
    for name in ("fitwithmaya", "money.kim", "cocina.ana.es", "travel.tim"):
        who = creator(SEED, name)
        creator_text, content = simulated(name, transcripts=True)
        reels = categorise(creator_text, content).content
        assert [reel.content_id for reel in reels] == [item.content_id for item in content]
        assert {reel.category for reel in reels} <= set(CATEGORY_NAMES)
        assert {reel.content_style for reel in reels} <= set(CONTENT_STYLES)
        # A reel is about its creator's niche but for a stray one; beauty reels may be about fashion.
        own = sum(reel.category == who.niche.name for reel in reels)
        assert own >= 0.9 * len(reels), (name, own)
        assert sum(reel.language == who.language for reel in reels) >= 0.95 * len(reels), name


SPOKEN = {
    "es": "Tres errores que cometes al hacer sentadillas. Guárdalo para después y cuéntame qué tal.",
    "pt": "Três erros que você comete no agachamento. Salve para depois e me conta nos comentários.",
    "de": "Drei Fehler, die du bei Kniebeugen machst. Speicher dir das und schreib mir in die Kommentare.",
    "fr": "Trois erreurs que tu fais en faisant des squats. Enregistre-le et dis-moi en commentaire.",
    "en": "Three mistakes you make when you squat. Save this for later and tell me in the comments.",
}


# The rest of the taxonomy's languages, one sentence each.
ALSO_SPOKEN = {
    "it": "Mi alleno ogni mattina e mangio sano, salva questo video per dopo.",
    "nl": "Ik sport elke ochtend en eet gezond, bewaar deze video voor later.",
    "tr": "Her sabah spor yapıyorum ve sağlıklı besleniyorum, bunu kaydet.",  # noqa: RUF001 - Turkish dotless i
    "pl": "Codziennie rano ćwiczę i zdrowo się odżywiam, zapisz to na później.",
    "id": "Saya berolahraga setiap pagi dan makan makanan sehat, simpan video ini.",
    "hi": "मैं हर सुबह व्यायाम करता हूँ और स्वस्थ खाना खाता हूँ।",
    "ar": "أنا أتمرن كل صباح وآكل طعاما صحيا، احفظ هذا الفيديو.",
}


def test_every_language_of_the_taxonomy_is_told_apart() -> None:
    assert set(SPOKEN) | set(ALSO_SPOKEN) == set(LANGUAGES)
    assert {code: detect_language(text) for code, text in ALSO_SPOKEN.items()} == {c: c for c in ALSO_SPOKEN}


@pytest.mark.parametrize("language", sorted(SPOKEN))
def test_hand_written_texts_come_out_in_their_language(language: str) -> None:
    text = SPOKEN[language]
    assert detect_language(text) == language
    assert detect_language(f"{text} #fitness #gym #workout #homeworkout") == language
    [reel] = classify_reels([ContentText("1", caption=text)])
    assert reel.language == language
    profile = classify_profile("squat.coach", None, text, "personal", [text, text])
    assert profile.language == language


@pytest.mark.parametrize("text", ["", "ok", "🔥🔥🔥", "#fitness #gym #workout", "Leg day", None])
def test_texts_too_short_to_tell_have_no_language(text: str | None) -> None:
    assert detect_language(text) is None


def test_a_reel_too_short_to_tell_speaks_its_creators_language() -> None:
    [reel] = classify_reels([ContentText("1", caption="🔥🔥")], creator_language="pt")
    assert reel.language == "pt"


STYLES = [
    ("How to make sourdough at home #baking", None, "tutorial"),
    ("Here's how I budget every single month", None, "tutorial"),
    ("Step by step: my morning skincare", None, "tutorial"),
    ("5 tips for better sleep tonight", None, "list"),
    ("3 things nobody tells you about index funds", None, "list"),
    ("Top 10 gadgets of the year", None, "list"),
    ("Story time: I was fired on my first day", None, "story"),
    ("When I moved to Lisbon I knew nobody", None, "story"),
    ("POV: your mom finds your credit card bill", None, "skit"),
    ("Me when the gym is finally empty", None, "skit"),
    ("I tried the viral pasta recipe", None, "review"),
    ("Is this air fryer worth it?", None, "review"),
    ("Honest review of the new phone", None, "review"),
    ("A day in my life as a nurse", None, "vlog"),
    ("Come with me to the farmers market", None, "vlog"),
    ("Sunday reset #vlog", None, "vlog"),
    ("Monday mood", "So today I want to talk about my mornings. My routine changed a lot.", "talking_head"),
    ("Monday mood", None, "other"),
    ("Sunset over the bay", "The waves roll in and the light goes gold over the water.", "other"),
    ("", None, "other"),
]


@pytest.mark.parametrize(("caption", "transcript", "style"), STYLES)
def test_content_styles_follow_their_cue_words(caption: str, transcript: str | None, style: str) -> None:
    [reel] = classify_reels([ContentText("1", caption=caption, transcript=transcript)])
    assert reel.content_style == style


@pytest.mark.parametrize(
    ("caption", "hook_type"),
    [
        ("How to cook rice perfectly every time", "how_to"),
        ("5 mistakes I made with my first budget", "number_list"),
        ("Why does nobody talk about sunscreen?", "question"),
        ("Stop skipping leg day.", "contrarian"),
        ("I was broke at 25 and this is what I did.", "story"),
        ("The secret to crispy potatoes.", "curiosity_gap"),
        ("Your starter is hungry.", "direct_address"),
    ],
)
def test_hook_types_are_the_ones_the_analysis_engine_knows(caption: str, hook_type: str) -> None:
    [reel] = classify_reels([ContentText("1", caption=f"{caption}\n\n#food #tips")])
    assert reel.hook_type == hook_type == hook_classify(caption)


def test_a_post_is_read_from_its_caption_and_a_reel_without_words_has_no_hook() -> None:
    post, silent = classify_reels(
        [ContentText("p1", caption="3 outfits for spring #ootd"), ContentText("r1")]
    )
    assert (post.content_style, post.hook_type, post.category) == ("list", "number_list", "fashion")
    assert (silent.content_style, silent.hook_type, silent.keywords) == ("other", None, [])


def test_a_reel_that_says_too_little_takes_its_creators_primary_category() -> None:
    reels = classify_reels(
        [ContentText("1", caption="New video is up!"), ContentText("2", caption="Sunday #recipe")],
        creator_category="travel",
    )
    assert [reel.category for reel in reels] == ["travel", "cooking"]


def test_a_hashtag_outvotes_plain_words_and_ties_go_to_the_taxonomys_order() -> None:
    assert classify_profile("x", None, None, None, ["gym workout", "#recipe"]).primary_category == "cooking"
    tie = classify_profile("x", None, None, None, ["gym recipe"])
    assert (tie.primary_category, tie.secondary_category) == ("fitness", None)  # 1 vote: no runner-up
    assert CATEGORY_NAMES.index("fitness") < CATEGORY_NAMES.index("cooking")


def test_a_creator_nothing_votes_for_is_other_with_the_words_they_use() -> None:
    profile = classify_profile("jon.doe", "Jon Doe", "Sunsets and quiet mornings", "personal", [])
    assert (profile.primary_category, profile.secondary_category, profile.tertiary_category) == (
        "other",
        None,
        None,
    )
    assert profile.keywords == ["sunsets", "quiet", "mornings"]
    assert (profile.account_type, profile.classifier) == ("personal", LOCAL_CLASSIFIER)


def test_keywords_are_the_taxonomy_words_that_voted_most_then_the_most_frequent_words() -> None:
    texts = ["Sourdough starter feeding #sourdough #baking", "My sourdough starter again #sourdough"]
    profile = classify_profile("loaf.lab", None, "Bread nerd", None, texts)
    assert profile.keywords == ["sourdough", "baking", "starter", "bread"]


def test_keywords_are_bounded_and_come_from_the_creators_own_texts() -> None:
    for name in english_names()[::3] + translated_names()[::3]:
        creator_text, content = simulated(name, transcripts=True)
        found = categorise(creator_text, content)
        said = " ".join(
            [creator_text.bio or "", *(f"{c.caption} {c.transcript or ''}" for c in content)]
        ).lower()
        for keywords in [found.profile.keywords, *(reel.keywords for reel in found.content)]:
            assert len(keywords) <= MAX_KEYWORDS
            assert len(set(keywords)) == len(keywords)
            assert all(keyword in said for keyword in keywords), (name, keywords)
        assert len(found.profile.keywords) == MAX_KEYWORDS


def test_the_same_input_gives_the_same_output() -> None:
    first = categorise(*simulated("fit.coach.amy", transcripts=True))
    again = categorise(*simulated("fit.coach.amy", transcripts=True))
    assert first == again
    texts = [SPOKEN["es"], "#recetas #cooking", "Cena en 10 minutos"]
    assert classify_profile("x", None, None, None, texts) == classify_profile("x", None, None, None, texts)


def test_classify_profile_and_classify_reels_agree_with_categorise() -> None:
    creator_text, content = simulated("chef.leo", transcripts=False)
    together = categorise(creator_text, content)
    profile = classify_profile(
        creator_text.username,
        creator_text.full_name,
        creator_text.bio,
        creator_text.account_type,
        [item.caption or "" for item in content],
    )
    reels = classify_reels(
        content, creator_category=profile.primary_category, creator_language=profile.language
    )
    assert (profile, reels) == (together.profile, together.content)


_IN_A_FRESH_PROCESS = """
import json, sys
from tests.analysis.test_classify import simulated
from libs.analysis import categorise
found = categorise(*simulated("gym.bro.max", transcripts=True))
print(json.dumps([found.profile.model_dump(), [r.model_dump() for r in found.content]]))
"""


def test_two_processes_with_different_hash_seeds_agree() -> None:
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _IN_A_FRESH_PROCESS], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0][0]["primary_category"] == "fitness"
