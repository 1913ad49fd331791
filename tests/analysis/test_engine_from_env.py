"""Choosing the engine from the environment."""

from __future__ import annotations

import pytest

from libs.analysis import AnalysisConfigError, LocalEngine, OpenAICompatibleEngine, engine_from_env
from tests.analysis.conftest import StartStub
from tests.analysis.samples import GENERATED_AT, baker_input


def test_the_local_engine_is_the_default() -> None:
    for env in ({}, {"ANALYSIS_ENGINE": ""}, {"ANALYSIS_ENGINE": " Local "}):
        engine = engine_from_env(env)
        assert isinstance(engine, LocalEngine)
        assert (engine.name, engine.version) == ("local", "local-1.0")


def test_openai_is_configured_from_the_environment() -> None:
    engine = engine_from_env(
        {
            "ANALYSIS_ENGINE": "openai",
            "OPENAI_BASE_URL": "https://llm.example/v1/",
            "OPENAI_API_KEY": "sk-secret",
            "OPENAI_MODEL": "gpt-4.1-mini",
            "OPENAI_TIMEOUT_S": "12.5",
        }
    )
    assert isinstance(engine, OpenAICompatibleEngine)
    assert engine.url == "https://llm.example/v1/chat/completions"
    assert engine.model == "gpt-4.1-mini"
    assert engine.version == "openai-1.0-gpt-4.1-mini"
    assert "sk-secret" not in repr(engine)


def test_openai_defaults_to_a_small_model() -> None:
    engine = engine_from_env(
        {"ANALYSIS_ENGINE": "openai", "OPENAI_BASE_URL": "http://x/v1", "OPENAI_API_KEY": "k"}
    )
    assert isinstance(engine, OpenAICompatibleEngine)
    assert engine.model == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"ANALYSIS_ENGINE": "openai"}, "needs OPENAI_BASE_URL and OPENAI_API_KEY"),
        ({"ANALYSIS_ENGINE": "openai", "OPENAI_BASE_URL": "http://x/v1"}, "needs OPENAI_API_KEY"),
        (
            {"ANALYSIS_ENGINE": "openai", "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": " "},
            "needs OPENAI_BASE_URL",
        ),
        (
            {
                "ANALYSIS_ENGINE": "openai",
                "OPENAI_BASE_URL": "http://x/v1",
                "OPENAI_API_KEY": "k",
                "OPENAI_TIMEOUT_S": "soon",
            },
            "OPENAI_TIMEOUT_S must be a number",
        ),
        ({"ANALYSIS_ENGINE": "gpt"}, "ANALYSIS_ENGINE must be 'local' or 'openai', not 'gpt'"),
    ],
)
def test_an_incomplete_configuration_is_a_clear_error(env: dict[str, str], complaint: str) -> None:
    with pytest.raises(AnalysisConfigError, match=complaint):
        engine_from_env(env)


async def test_the_configured_openai_engine_talks_to_the_endpoint(start_openai_stub: StartStub) -> None:
    stub = await start_openai_stub(api_key="sk-from-env")
    env = {"ANALYSIS_ENGINE": "openai", "OPENAI_BASE_URL": stub.base_url, "OPENAI_API_KEY": "sk-from-env"}
    engine = engine_from_env(env, clock=lambda: GENERATED_AT)
    try:
        data = await engine.analyse(baker_input())
    finally:
        await engine.close()
    assert data.analysis_summary.engine == "openai"
    assert stub.statuses == [200]
