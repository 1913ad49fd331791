"""Choosing the engine from the environment."""

from __future__ import annotations

import pytest

from libs.analysis import AnalysisConfigError, LocalEngine, OpenAICompatibleEngine, engine_from_env
from libs.analysis.usage import RunLimits
from services.viral_analysis.settings import AnalysisSettings
from tests.analysis.conftest import StartStub
from tests.analysis.samples import GENERATED_AT, baker_input


def test_the_local_engine_is_the_default() -> None:
    for env in ({}, {"ANALYSIS_ENGINE": ""}, {"ANALYSIS_ENGINE": " Local "}):
        engine = engine_from_env(env)
        assert isinstance(engine, LocalEngine)
        assert (engine.name, engine.version) == ("local", "local-2.0")


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
    assert engine.version == "openai-2.0-gpt-4.1-mini"
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
    assert stub.statuses == [200, 200, 200, 200]


def test_the_token_budget_and_prices_come_from_the_services_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYSIS_LLM_TOKEN_BUDGET", "40000")
    monkeypatch.setenv("ANALYSIS_LLM_PROMPT_PRICE_PER_1K", "0.0025")
    monkeypatch.setenv("ANALYSIS_LLM_COMPLETION_PRICE_PER_1K", "0.01")
    limits = AnalysisSettings().llm_limits()
    assert limits == RunLimits(token_budget=40_000, prompt_price_per_1k=0.0025, completion_price_per_1k=0.01)
    engine = engine_from_env(
        {"ANALYSIS_ENGINE": "openai", "OPENAI_BASE_URL": "http://x/v1", "OPENAI_API_KEY": "k"}, limits=limits
    )
    assert isinstance(engine, OpenAICompatibleEngine) and engine.limits == limits


def test_the_defaults_are_a_budget_and_the_default_models_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOKEN_BUDGET", "PROMPT_PRICE_PER_1K", "COMPLETION_PRICE_PER_1K"):
        monkeypatch.delenv(f"ANALYSIS_LLM_{name}", raising=False)
    limits = AnalysisSettings().llm_limits()
    assert limits.token_budget == 150_000
    # gpt-4o-mini: USD 0.15 and 0.60 per million tokens.
    assert limits.cost(1_000_000, 1_000_000) == pytest.approx(0.75)


@pytest.mark.parametrize("budget", ["0", "999", "lots"])
def test_a_token_budget_that_is_no_budget_is_refused(monkeypatch: pytest.MonkeyPatch, budget: str) -> None:
    monkeypatch.setenv("ANALYSIS_LLM_TOKEN_BUDGET", budget)
    with pytest.raises(ValueError, match="analysis_llm_token_budget"):
        AnalysisSettings()
