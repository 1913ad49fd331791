"""The language a text is written in, by lingua's detector over exactly the taxonomy's languages
(libs/categories.LANGUAGES), as ISO 639-1 codes."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from libs.categories import LANGUAGES

# Fewer letters than this (or fewer words) is too little text to tell a language by.
MIN_LANGUAGE_LETTERS = 12
MIN_LANGUAGE_WORDS = 3
# The detector's time grows with the text (under 1 us a character); a caption's opening already tells.
LANGUAGE_CHARS = 80


@cache
def detector() -> LanguageDetector:
    """One detector for the process, built on first use; low accuracy mode is fast and small in memory
    (its models load on first detection: about 20 MB)."""
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def language_of(text: str, words: Sequence[str]) -> str | None:
    """The code of `text`'s language, given its words; None when it is too short to tell."""
    if len(words) < MIN_LANGUAGE_WORDS or sum(map(len, words)) < MIN_LANGUAGE_LETTERS:
        return None
    found = detector().detect_language_of(" ".join(text.split())[:LANGUAGE_CHARS])
    return _iso_code(found) if found is not None else None


@cache
def _iso_code(language: Language) -> str:
    return language.iso_code_639_1.name.lower()
