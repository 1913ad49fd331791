"""Which language a simulated creator speaks, chosen by a marker at the end of its username.

A name whose last token (after its last `.` or `_`) is a language marker speaks that language:
`es` Spanish, `pt` or `br` Portuguese, `de` German, `fr` French, as in `chef_leo.es`, `fit.ana_br`,
`koch.max.de`, `private_cuisine.lea.fr`. Such a creator's biography, niche title, captions, post
captions and transcripts are in that language. The translated niches are fitness and cooking: a
marked name with another niche's token (`money.kim.es`) speaks English; a marked name without a
niche token gets fitness or cooking by hash. Every other name speaks English, exactly as it did
before markers existed.
"""

from __future__ import annotations

from .translations import de, es, fr, pt
from .vocabulary import ENGLISH, Voice

MARKERS: dict[str, str] = {"es": "es", "pt": "pt", "br": "pt", "de": "de", "fr": "fr"}
VOICES: dict[str, Voice] = {
    voice.language: voice for voice in (ENGLISH, es.VOICE, pt.VOICE, de.VOICE, fr.VOICE)
}


def marker_of(username: str) -> str:
    """The name's language suffix with its separator (`.es`, `_br`), or "" when it has none."""
    name = username.removeprefix("private_")
    cut = max(name.rfind("."), name.rfind("_"))
    return name[cut:] if cut > 0 and name[cut + 1 :] in MARKERS else ""


def marked_voice(username: str) -> Voice | None:
    """The language the name asks for, whether or not it has words for the creator's niche."""
    marker = marker_of(username)
    return VOICES[MARKERS[marker[1:]]] if marker else None


def voice_of(username: str, niche_name: str) -> Voice:
    voice = marked_voice(username)
    return voice if voice is not None and voice.niche(niche_name) is not None else ENGLISH
