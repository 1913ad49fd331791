"""The classifiers behind one interface, and the choice between them from the environment: the local
one (libs/analysis/classify.py), and an OpenAI-compatible chat-completions endpoint that files a creator
and their content under the taxonomy, held to the events' own models (ProfileCategorised, ReelCategories).

A rejected answer goes back to the model with the reasons, like the analysis engine's; when the model
gives no valid answer, or the endpoint none at all, the local classifier decides, so a profile is never
left uncategorised for it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Protocol

import aiohttp
import orjson
from prometheus_client import Counter
from pydantic import ValidationError

from libs.categories import CATEGORIES, CONTENT_STYLES, LANGUAGES, MAX_KEYWORDS
from libs.events.catalog import ProfileCategorised, ReelCategories

from .asking import Rejected, ask_until_accepted
from .chat import ChatClient
from .classify import LOCAL_CLASSIFIER, Categorisation, ContentText, CreatorText, categorise
from .engine import openai_options
from .errors import AnalysisConfigError, AnalysisEngineError
from .llm import DEFAULT_MODEL
from .text import shorten

log = logging.getLogger(__name__)

CLASSIFY_PROMPT_VERSION = "classify-1"
CAPTION_CHARS = 300
TRANSCRIPT_CHARS = 300
# Ours to fill, not the model's: who the creator is, who decided, and the hook type the analysis
# engine reads from the opening line.
_OURS_PROFILE = ("username", "classifier", "account_type")
_OURS_CONTENT = ("hook_type",)

CLASSIFIER_ANSWERS = Counter(
    "viralspot_classifier_llm_answers_total",
    "Answers of the language model to a categorisation: accepted, why they were rejected, or fallen back",
    ["outcome"],
)


class Classifier(Protocol):
    @property
    def version(self) -> str:
        """Recorded in the events as `classifier`."""
        ...

    async def categorise(self, creator: CreatorText, content: Sequence[ContentText]) -> Categorisation: ...

    async def close(self) -> None: ...


class LocalClassifier:
    version = LOCAL_CLASSIFIER

    async def categorise(self, creator: CreatorText, content: Sequence[ContentText]) -> Categorisation:
        return categorise(creator, content)

    async def close(self) -> None:
        return None


class OpenAICompatibleClassifier:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str = DEFAULT_MODEL,
        timeout_s: float = 60.0,
        max_attempts: int = 3,
        max_retries: int = 4,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 30.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.chat = ChatClient(
            base_url=base_url,
            api_key=api_key,
            timeout_s=timeout_s,
            max_retries=max_retries,
            backoff_base_s=backoff_base_s,
            backoff_max_s=backoff_max_s,
            session=session,
        )
        self.model = model
        self.max_attempts = max(1, max_attempts)

    @property
    def version(self) -> str:
        return f"openai-{CLASSIFY_PROMPT_VERSION}-{self.model}"[:100]

    def __repr__(self) -> str:
        return f"OpenAICompatibleClassifier(url={self.chat.url!r}, model={self.model!r})"

    async def close(self) -> None:
        await self.chat.close()

    async def categorise(self, creator: CreatorText, content: Sequence[ContentText]) -> Categorisation:
        # The local reading gives the hook types, and the answer when the model gives none.
        local = categorise(creator, content)
        try:
            return await self._ask(creator, content, local)
        except AnalysisEngineError as exc:
            CLASSIFIER_ANSWERS.labels("fell_back").inc()
            log.warning("categorisation by the language model failed, the local classifier decides: %s", exc)
            return local

    async def _ask(
        self, creator: CreatorText, content: Sequence[ContentText], local: Categorisation
    ) -> Categorisation:
        base = [
            {"role": "system", "content": system_prompt()},
            {"role": "user", "content": user_message(creator, content)},
        ]
        return await ask_until_accepted(
            self.chat,
            model=self.model,
            messages=base,
            temperature=0,
            max_attempts=self.max_attempts,
            accept=lambda completion: self._accept(completion.content, creator, content, local),
            answers=CLASSIFIER_ANSWERS,
            what="categorisation",
        )

    def _accept(
        self, text: str, creator: CreatorText, content: Sequence[ContentText], local: Categorisation
    ) -> Categorisation:
        try:
            payload = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise Rejected("invalid_json", [f"the answer is not valid JSON: {exc}"]) from None
        if not isinstance(payload, dict):
            raise Rejected("invalid_json", ["the answer must be a JSON object"])
        problems: list[str] = []
        profile = _profile(payload.get("profile"), creator, self.version, problems)
        items = _content(payload.get("content"), content, local, problems)
        if problems or profile is None or items is None:
            raise Rejected("schema_invalid", problems or ["the answer is incomplete"])
        return Categorisation(profile, items)


def _profile(
    answer: Any, creator: CreatorText, classifier: str, problems: list[str]
) -> ProfileCategorised | None:
    if not isinstance(answer, dict):
        problems.append("profile: an object is required")
        return None
    fields = _normalised({key: value for key, value in answer.items() if key not in _OURS_PROFILE})
    fields.update(username=creator.username, classifier=classifier, account_type=creator.account_type)
    try:
        profile = ProfileCategorised.model_validate(fields)
    except ValidationError as exc:
        problems.extend(_readable(exc, "profile"))
        return None
    _check_language(profile.language, "profile.language", problems)
    return profile


def _content(
    answer: Any, content: Sequence[ContentText], local: Categorisation, problems: list[str]
) -> list[ReelCategories] | None:
    if not isinstance(answer, list):
        problems.append("content: a list with one item per content item sent is required")
        return None
    hooks = {item.content_id: item.hook_type for item in local.content}
    found: dict[str, ReelCategories] = {}
    answered: set[str] = set()
    for index, item in enumerate(answer):
        where = f"content.{index}"
        if not isinstance(item, dict):
            problems.append(f"{where}: an object is required")
            continue
        fields = _normalised({key: value for key, value in item.items() if key not in _OURS_CONTENT})
        content_id = str(fields.get("content_id"))
        if content_id not in hooks:
            problems.append(f"{where}.content_id: {content_id!r} was not sent")
            continue
        if content_id in answered:
            problems.append(f"{where}.content_id: {content_id!r} is answered twice")
            continue
        answered.add(content_id)
        fields.update(content_id=content_id, hook_type=hooks[content_id])
        try:
            found[content_id] = ReelCategories.model_validate(fields)
        except ValidationError as exc:
            problems.extend(_readable(exc, where))
            continue
        _check_language(found[content_id].language, f"{where}.language", problems)
    missing = [each.content_id for each in content if each.content_id not in answered]
    if missing:
        problems.append(f"content: no answer for {', '.join(missing[:10])}")
    if not all(each.content_id in found for each in content):
        return None
    return [found[each.content_id] for each in content]


def _normalised(fields: dict[str, Any]) -> dict[str, Any]:
    """Keywords as the local classifier writes them (lower case, trimmed), so facets count one word once."""
    keywords = fields.get("keywords")
    if isinstance(keywords, list):
        fields["keywords"] = [k.strip().lower() if isinstance(k, str) else k for k in keywords]
    return fields


def _check_language(language: str | None, where: str, problems: list[str]) -> None:
    if language is not None and language not in LANGUAGES:
        problems.append(f"{where}: {language!r} is not one of {', '.join(LANGUAGES)} (or null)")


def _readable(error: ValidationError, prefix: str) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join([prefix, *(str(part) for part in item["loc"])])
        problems.append(f"{where}: {item['msg']}")
    return problems


def _without(schema: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    schema = dict(schema)
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k not in names}
    schema["required"] = [k for k in schema.get("required", []) if k not in names]
    return schema


_RULES = f"""You file Instagram creators and their reels and posts under ViralSpot's fixed taxonomy.
The user message is a JSON document: the creator (username, full_name, bio) and their content (each
with content_id, caption and transcript, either may be null).

Answer with ONE JSON object and nothing else, validating against the JSON Schema below:
- profile: the creator's primary_category, and secondary_category and tertiary_category when the
  content covers more than one (else null); up to {MAX_KEYWORDS} keywords (short lower-case words or
  phrases from the texts); language, the ISO 639-1 code of what the creator writes and speaks.
- content: one item per content item sent, with its content_id copied exactly: its own category,
  up to {MAX_KEYWORDS} keywords, language, and content_style.
Categories: {", ".join(f"{c.name} ({c.label})" for c in CATEGORIES)}; "other" when none fits.
ContentText styles: {", ".join(CONTENT_STYLES)}.
Languages: {", ".join(LANGUAGES)}, or null when the text is too short to tell.
"""


@cache
def system_prompt() -> str:
    schema = {
        "type": "object",
        "required": ["profile", "content"],
        "properties": {
            "profile": _without(ProfileCategorised.model_json_schema(), _OURS_PROFILE),
            "content": {
                "type": "array",
                "items": _without(ReelCategories.model_json_schema(), _OURS_CONTENT),
            },
        },
    }
    return f"{_RULES}\nJSON Schema of the answer:\n{orjson.dumps(schema).decode()}"


def user_message(creator: CreatorText, content: Sequence[ContentText]) -> str:
    return orjson.dumps(
        {
            "creator": {"username": creator.username, "full_name": creator.full_name, "bio": creator.bio},
            "content": [
                {
                    "content_id": each.content_id,
                    "caption": shorten(each.caption, CAPTION_CHARS) if each.caption else None,
                    "transcript": shorten(each.transcript, TRANSCRIPT_CHARS) if each.transcript else None,
                }
                for each in content
            ],
        }
    ).decode()


def classifier_from_env(
    env: Mapping[str, str] | None = None, *, session: aiohttp.ClientSession | None = None
) -> Classifier:
    """CLASSIFIER=local (default) or openai, with the analysis engine's OPENAI_* settings."""
    env = os.environ if env is None else env
    choice = (env.get("CLASSIFIER") or "local").strip().lower()
    if choice == "local":
        return LocalClassifier()
    if choice != "openai":
        raise AnalysisConfigError(f"CLASSIFIER must be 'local' or 'openai', not {choice!r}")
    return OpenAICompatibleClassifier(**openai_options(env, "CLASSIFIER"), session=session)
