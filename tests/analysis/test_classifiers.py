"""The language model's classifier against a real OpenAI-compatible stub over HTTP, and the choice of
classifier from the environment."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest

from libs.analysis import (
    LOCAL_CLASSIFIER,
    AnalysisConfigError,
    ContentText,
    CreatorText,
    LocalClassifier,
    OpenAICompatibleClassifier,
    categorise,
    classifier_from_env,
)
from libs.analysis.classifiers import system_prompt
from tests.support.classifier_stub import ClassifierStub, start_classifier_stub

KEY = "sk-test-0123456789abcdef"
CREATOR = CreatorText("sourdough.sam", "Sam Baker", "Home baker | bread every weekend", "business")
CONTENT = [
    ContentText(
        "r1", "How to feed a sourdough starter #sourdough #baking", "So I feed my starter twice a day."
    ),
    ContentText("r2", "3 mistakes with sourdough #recipe", None),
    ContentText("p1", "Saturday loaves #bread #baking", None),
]

StartStub = Callable[..., Awaitable[ClassifierStub]]


@pytest.fixture
async def start_stub() -> AsyncIterator[StartStub]:
    stubs: list[ClassifierStub] = []

    async def start(**behaviour: Any) -> ClassifierStub:
        stub = await start_classifier_stub(api_key=KEY, **behaviour)
        stubs.append(stub)
        return stub

    yield start
    for stub in stubs:
        await stub.stop()


def classifier_for(stub: ClassifierStub, **overrides: Any) -> OpenAICompatibleClassifier:
    settings: dict[str, Any] = {
        "base_url": stub.base_url,
        "api_key": KEY,
        "model": "gpt-4o-mini",
        "timeout_s": 5.0,
        "max_attempts": 3,
        "max_retries": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
    }
    settings.update(overrides)
    return OpenAICompatibleClassifier(**settings)


async def classify_with(classifier: OpenAICompatibleClassifier) -> Any:
    try:
        return await classifier.categorise(CREATOR, CONTENT)
    finally:
        await classifier.close()


async def test_a_valid_answer_is_held_to_the_events_models_and_recorded_as_the_models(
    start_stub: StartStub,
) -> None:
    stub = await start_stub()
    found = await classify_with(classifier_for(stub))
    local = categorise(CREATOR, CONTENT)

    assert found.classifier == "openai-classify-1-gpt-4o-mini" == found.profile.classifier
    assert found.profile.primary_category == local.profile.primary_category == "cooking"
    # Keywords as the local classifier writes them; who, the account type and hook types are ours.
    assert found.profile.keywords == local.profile.keywords
    assert (found.profile.username, found.profile.account_type) == ("sourdough.sam", "business")
    assert [r.content_id for r in found.content] == ["r1", "r2", "p1"]
    assert [r.hook_type for r in found.content] == [r.hook_type for r in local.content]
    [request] = stub.requests
    assert request["model"] == "gpt-4o-mini" and request["temperature"] == 0
    assert request["response_format"] == {"type": "json_object"}
    system, user = request["messages"]
    assert system["content"] == system_prompt()
    sent = orjson.loads(user["content"])
    assert sent["creator"] == {"username": "sourdough.sam", "full_name": "Sam Baker", "bio": CREATOR.bio}
    assert [item["content_id"] for item in sent["content"]] == ["r1", "r2", "p1"]


async def test_the_system_prompt_names_the_taxonomy_and_the_answers_schema() -> None:
    prompt = system_prompt()
    assert "parenting (Parenting & family)" in prompt and "talking_head" in prompt
    assert '"primary_category"' in prompt and '"content_style"' in prompt and '"maxItems":4' in prompt
    assert '"hook_type"' not in prompt and '"classifier"' not in prompt


async def test_an_answer_that_is_not_json_is_sent_back_and_the_retry_is_accepted(
    start_stub: StartStub,
) -> None:
    stub = await start_stub(invalid_json=1)
    found = await classify_with(classifier_for(stub))
    assert found.classifier.startswith("openai-")
    assert len(stub.requests) == 2
    correction = stub.requests[1]["messages"][-1]["content"]
    assert "not valid JSON" in correction


async def test_an_answer_outside_the_schema_is_sent_back_with_every_reason(start_stub: StartStub) -> None:
    stub = await start_stub(schema_invalid=1)
    found = await classify_with(classifier_for(stub))
    assert found.classifier.startswith("openai-") and found.profile.primary_category == "cooking"
    retry = stub.requests[1]["messages"]
    assert retry[2]["role"] == "assistant" and "astrology" in retry[2]["content"]
    correction = retry[3]["content"]
    assert "profile.primary_category" in correction and "profile.keywords" in correction
    assert "content.0.content_style" in correction


async def test_an_answer_about_content_never_sent_is_rejected(start_stub: StartStub) -> None:
    stub = await start_stub(ungrounded=1)
    found = await classify_with(classifier_for(stub))
    assert found.classifier.startswith("openai-")
    correction = stub.requests[1]["messages"][-1]["content"]
    assert "'made-up-reel' was not sent" in correction and "no answer for r1" in correction


async def test_no_valid_answer_in_every_attempt_falls_back_to_the_local_classifier(
    start_stub: StartStub,
) -> None:
    stub = await start_stub(schema_invalid=5)
    found = await classify_with(classifier_for(stub, max_attempts=2))
    assert len(stub.requests) == 2
    assert found == categorise(CREATOR, CONTENT)
    assert found.classifier == LOCAL_CLASSIFIER


async def test_an_endpoint_that_keeps_failing_falls_back_to_the_local_classifier(
    start_stub: StartStub,
) -> None:
    stub = await start_stub(server_errors=10)
    found = await classify_with(classifier_for(stub, max_retries=1))
    assert stub.statuses == [500, 500]
    assert found == categorise(CREATOR, CONTENT)


async def test_a_refused_key_falls_back_without_retrying(start_stub: StartStub) -> None:
    stub = await start_stub()
    found = await classify_with(classifier_for(stub, api_key="sk-wrong"))
    assert stub.statuses == [401] and found.classifier == LOCAL_CLASSIFIER


async def test_the_local_classifier_is_the_default() -> None:
    for env in ({}, {"CLASSIFIER": ""}, {"CLASSIFIER": " Local "}, {"ANALYSIS_ENGINE": "openai"}):
        classifier = classifier_from_env(env)
        assert isinstance(classifier, LocalClassifier) and classifier.version == LOCAL_CLASSIFIER
        assert await classifier.categorise(CREATOR, CONTENT) == categorise(CREATOR, CONTENT)


def test_openai_is_configured_from_the_analysis_engines_settings() -> None:
    classifier = classifier_from_env(
        {
            "CLASSIFIER": "openai",
            "OPENAI_BASE_URL": "https://llm.example/v1/",
            "OPENAI_API_KEY": "sk-secret",
            "OPENAI_MODEL": "gpt-4.1-mini",
            "OPENAI_MAX_ATTEMPTS": "2",
        }
    )
    assert isinstance(classifier, OpenAICompatibleClassifier)
    assert classifier.chat.url == "https://llm.example/v1/chat/completions"
    assert (classifier.version, classifier.max_attempts) == ("openai-classify-1-gpt-4.1-mini", 2)
    assert "sk-secret" not in repr(classifier)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CLASSIFIER": "magic"}, "CLASSIFIER must be 'local' or 'openai'"),
        ({"CLASSIFIER": "openai"}, "OPENAI_BASE_URL and OPENAI_API_KEY"),
        (
            {
                "CLASSIFIER": "openai",
                "OPENAI_BASE_URL": "http://x",
                "OPENAI_API_KEY": "k",
                "OPENAI_TIMEOUT_S": "x",
            },
            "OPENAI_TIMEOUT_S",
        ),
    ],
)
def test_an_incomplete_configuration_is_refused_with_the_reason(env: dict[str, str], message: str) -> None:
    with pytest.raises(AnalysisConfigError, match=message):
        classifier_from_env(env)
