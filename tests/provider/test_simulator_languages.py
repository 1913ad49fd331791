"""Creators in other languages: a marker in the name picks the language, and no English name changed."""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import aiohttp
import orjson
import pytest
from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from infra.simulator import shapes, world
from infra.simulator.languages import VOICES, marker_of
from infra.simulator.posts import post_caption, posts_of
from infra.simulator.vocabulary import NICHES
from libs.categories import LANGUAGES
from tests.provider.provider_harness import NOW, RunningSimulator

NOW_TS = int(NOW.timestamp())
HEADERS = {"x-rapidapi-key": "k", "x-rapidapi-host": "instagram-scraper-stable-api"}
MARKED = ("chef_leo.es", "fit.ana_br", "gym_rui_pt", "koch.max.de", "kitchen.lea_fr")


def fingerprint(seed: int, username: str) -> str:
    """Everything the provider's endpoints say about one creator, reduced to a short hash."""
    who = world.creator(seed, username)
    reels = world.reels_of(seed, username, NOW_TS)
    parts: list[Any] = [shapes.profile(who), who.median_views, who.reel_count]
    parts.append(shapes.reels_page(who, reels, None))
    parts += [shapes.media_data(who, reel) for reel in reels]
    parts += [shapes.transcript(world.transcript_of(seed, username, reel), 120, False) for reel in reels]
    similar = world.similar_to(seed, username)
    fields = world.similar_fields(seed, username, len(similar))
    parts.append(shapes.similar_accounts(similar, world.similar_shape(seed, username), fields))
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()[:16]


@pytest.mark.parametrize(
    ("seed", "username", "expected"),
    [
        # Computed before posts and languages were added; demos, tests and the bench rely on them.
        (42, "fitwithmaya", "fcce0925423286a8"),
        (42, "money.kim", "d89282d0b5c8a228"),
        (42, "chef_leo", "4a237c24004796f1"),
        (42, "wander.ana", "3b3737dbb8fdd320"),
        (42, "code.sam", "8193636fbc6d115d"),
        (42, "glow.mia", "c4ca1290cc9378e7"),
        (42, "somebody", "34a58b69a04d620a"),
        (42, "creator7", "e0032841d7c10e85"),
        (42, "private_chef_leo", "6e1542ec145a7dcf"),
        (7, "somebody", "b0a8e95561955ae9"),
    ],
)
def test_every_existing_name_answers_exactly_what_it_did_before(
    seed: int, username: str, expected: str
) -> None:
    assert fingerprint(seed, username) == expected
    assert world.creator(seed, username).language == "en"


def test_a_crowd_of_existing_names_is_unchanged() -> None:
    reels, profiles = hashlib.sha256(), hashlib.sha256()
    for number in range(3_000):
        name = f"creator{number}"
        who = world.creator(42, name)
        profiles.update(orjson.dumps([shapes.profile(who), who.median_views]))
        for neighbour in world.similar_to(42, name) if number < 300 else ():
            profiles.update(orjson.dumps(shapes.profile(neighbour)))
        if number < 200:
            page = shapes.reels_page(who, world.reels_of(42, name, NOW_TS), None)
            reels.update(orjson.dumps([shapes.profile(who), who.median_views, page]))
    assert (reels.hexdigest()[:16], profiles.hexdigest()[:16]) == ("c7114f18d9e8b712", "8eb236f76f22f08a")


@pytest.mark.parametrize(
    ("username", "language", "niche"),
    [
        ("chef_leo.es", "es", "cooking"),
        ("cocina.ana.es", "es", "cooking"),
        ("fit.ana_br", "pt", "fitness"),
        ("gym_rui_pt", "pt", "fitness"),
        ("receita.bia.br", "pt", "cooking"),
        ("koch.max.de", "de", "cooking"),
        ("kraft.jonas_de", "de", "fitness"),
        ("private_cuisine.lea.fr", "fr", "cooking"),
        ("muscu.hugo.fr", "fr", "fitness"),
        # No words for finance in Spanish: the creator speaks English.
        ("money.kim.es", "en", "finance"),
        # A marker without a niche token draws a translated niche.
        ("ana.es", "es", None),
        ("fitwithmaya", "en", "fitness"),
        # Only the last token is a marker.
        ("es.fit", "en", "fitness"),
        ("fit.des", "en", "fitness"),
    ],
)
def test_a_marker_at_the_end_of_the_name_picks_the_language(
    username: str, language: str, niche: str | None
) -> None:
    who = world.creator(42, username)
    assert who.language == language
    assert who.niche.name == niche if niche else who.niche.name in {"fitness", "cooking"}
    assert who.niche == (VOICES[language].niche(who.niche.name) or who.niche)


def test_languages_are_deterministic_and_do_not_depend_on_the_seed() -> None:
    first = {name: (world.creator(42, name), world.reels_of(42, name, NOW_TS)) for name in MARKED}
    world.creator.cache_clear()
    world.reels_of.cache_clear()
    assert {name: (world.creator(42, name), world.reels_of(42, name, NOW_TS)) for name in MARKED} == first
    for seed in (1, 2, 3):
        assert [world.creator(seed, name).language for name in MARKED] == ["es", "pt", "pt", "de", "fr"]


@cache
def detector() -> LanguageDetector:
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def detected(text: str) -> str | None:
    language = detector().detect_language_of(text)
    return language.iso_code_639_1.name.lower() if language else None


@pytest.mark.parametrize("username", [*MARKED, "chef_leo", "fitwithmaya"])
def test_bio_captions_post_captions_and_transcripts_are_in_the_creators_language(username: str) -> None:
    who = world.creator(42, username)
    reels = world.reels_of(42, username, NOW_TS)[:15]
    texts = [who.biography, *(reel.caption for reel in reels)]
    texts += [world.transcript_of(42, username, reel) or "" for reel in reels]
    texts += [post_caption(42, username, post) for post in posts_of(42, username, NOW_TS)[:15]]
    assert {detected(text) for text in texts if text} == {who.language}


async def test_the_transcript_api_says_which_language_it_transcribed(simulator: RunningSimulator) -> None:
    reel = next(r for r in world.reels_of(42, "koch.max.de", NOW_TS) if r.has_speech)
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        query = {"url": f"https://www.instagram.com/reel/{reel.code}/", "chunkSize": "80"}
        async with session.get(f"{simulator.base_url}/transcript", params=query) as response:
            body = await response.json()
    assert (body["lang"], body["availableLangs"]) == ("de", ["de"])
    assert {chunk["lang"] for chunk in body["content"]} == {"de"}


async def test_the_profile_speaks_the_language_over_http(simulator: RunningSimulator) -> None:
    async with simulator.provider() as client:
        profile = await client.get_profile("chef_leo.es")
        posts = await client.get_posts("chef_leo.es", limit=5)
    assert profile.biography == world.creator(42, "chef_leo.es").biography
    assert "Te ayudo a conseguir" in profile.biography
    assert all(detected(post.caption) == "es" for post in posts if post.caption)


def test_neighbours_of_a_creator_in_another_language_mostly_speak_it() -> None:
    for name in MARKED:
        who = world.creator(42, name)
        similar = world.similar_to(42, name)
        speaking = [c for c in similar if c.language == who.language]
        assert len(speaking) >= 0.6 * len(similar)
        assert all(marker_of(c.username) == marker_of(name) for c in speaking)
        assert all(world.USERNAME.match(c.username) for c in similar)
        assert any(c.is_private for c in similar) and any(c.followers < 5_000 for c in similar)


@pytest.mark.parametrize("language", sorted(set(VOICES) - {"en"}))
def test_every_language_has_words_for_fitness_and_cooking_that_fill_every_template(language: str) -> None:
    voice = VOICES[language]
    english = {niche.name: niche for niche in NICHES}
    assert {niche.name for niche in voice.niches} >= {"fitness", "cooking"}
    for niche in voice.niches:
        assert set(english[niche.name].handles) <= set(niche.handles)
        assert all((niche.topics, niche.mistakes, niche.results, niche.tips, niche.hashtags))
        words = {"mistake": niche.mistakes[0], "result": niche.results[0], "topic": niche.topics[0]}
        for hook in voice.hooks:
            assert "{" not in hook.format(**words, n=3, days=7)
        for line in (*voice.caption_lines, *voice.image_lines, *voice.carousel_lines):
            assert "{" not in line.format(n=4)
        for ending in voice.calls_to_action:
            assert "{" not in ending.format(niche=niche.name, word=niche.comment_word)
        assert "{" not in voice.biography.format(title=niche.title, **words)
