"""The language-model engine, a chain of steps, against a real OpenAI-compatible stub over HTTP."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest

from libs.analysis import AnalysisEngineError, LocalEngine, OpenAICompatibleEngine, grounding_errors
from libs.analysis.prompt import compact_input, system_prompt
from libs.analysis.results import AnalysisData, validate_analysis
from libs.analysis.steps import chain_steps
from libs.analysis.usage import RunLimits
from tests.analysis.conftest import StartStub
from tests.analysis.samples import GENERATED_AT, baker_input
from tests.support.openai_stub import OpenAIStub

KEY = "sk-test-0123456789abcdef"
STEPS = ["profile", "hooks", "generation", "scripts"]


def engine_for(stub: OpenAIStub, **overrides: object) -> OpenAICompatibleEngine:
    settings: dict[str, object] = {
        "base_url": stub.base_url,
        "api_key": KEY,
        "model": "gpt-4o-mini",
        "timeout_s": 5.0,
        "max_attempts": 3,
        "max_retries": 3,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "clock": lambda: GENERATED_AT,
    }
    settings.update(overrides)
    return OpenAICompatibleEngine(**settings)  # type: ignore[arg-type]


async def analyse(stub: OpenAIStub, **overrides: object) -> AnalysisData:
    engine = engine_for(stub, **overrides)
    try:
        return await engine.analyse(baker_input())
    finally:
        await engine.close()


def sent(request: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(request["messages"][1]["content"])
    return document


def steps_asked(stub: OpenAIStub) -> list[str]:
    return [sent(request)["step"] for request in stub.requests]


def attempts(data: AnalysisData) -> dict[str, tuple[int, int]]:
    assert data.llm_usage is not None
    return {step.step: (step.attempts, step.repaired) for step in data.llm_usage.steps}


async def test_the_chain_fills_the_local_engines_schema_step_by_step(start_openai_stub: StartStub) -> None:
    stub = await start_openai_stub(api_key=KEY)
    engine = engine_for(stub)
    analysis_input = baker_input()
    try:
        data = await engine.analyse(analysis_input)
    finally:
        await engine.close()

    assert validate_analysis(data.model_dump(mode="json"), hooks_count=5) == data
    assert grounding_errors(data, analysis_input) == []
    local = LocalEngine(clock=lambda: GENERATED_AT).analyse_now(analysis_input)
    # Every section the model wrote is the stub's (the local engine's) and every summary is recomputed
    # by the same rules: the two documents differ only in who wrote them and what the run cost.
    ours, theirs = data.model_dump(mode="json"), local.model_dump(mode="json")
    assert ours.pop("llm_usage") is not None and "llm_usage" not in theirs
    assert ours["analysis_summary"].pop("engine") == "openai"
    assert theirs["analysis_summary"].pop("engine") == "local"
    assert ours == theirs
    assert data.analysis_summary.generated_at == GENERATED_AT
    assert engine.name == "openai" and engine.version == "openai-2.0-gpt-4o-mini"

    assert steps_asked(stub) == STEPS
    for request, step in zip(stub.requests, chain_steps(), strict=True):
        assert request["model"] == "gpt-4o-mini"
        assert request["response_format"] == {"type": "json_object"}
        assert request["temperature"] <= 0.3
        assert request["messages"][0] == {"role": "system", "content": system_prompt(step)}
        document = sent(request)
        assert document["answer_with"] == step.section
        assert document["input"] == compact_input(analysis_input).model_dump(mode="json")
    # Each step sees what the earlier ones settled, and only that.
    assert [list(sent(r)["accepted"]) for r in stub.requests] == [
        [],
        ["profile_analysis"],
        ["profile_analysis", "individual_reel_analyses"],
        ["profile_analysis", "individual_reel_analyses", "generated_hooks"],
    ]
    assert sent(stub.requests[3])["accepted"]["generated_hooks"] == theirs["generated_hooks"]


async def test_each_step_is_told_its_own_part_of_the_schema() -> None:
    prompts = {step.name: system_prompt(step) for step in chain_steps()}
    assert list(prompts) == STEPS
    assert '"unexplored_topics"' in prompts["profile"] and '"adapted_from"' not in prompts["profile"]
    assert '"effectiveness_score"' in prompts["hooks"] and '"full_script"' not in prompts["hooks"]
    assert '"adapted_from"' in prompts["generation"] and "curiosity_gap" in prompts["generation"]
    assert "exactly settings.hooks_count" in prompts["generation"]
    assert '"full_script"' in prompts["scripts"] and '"unexplored_topics"' not in prompts["scripts"]
    assert all('single key "' in prompt for prompt in prompts.values())


async def test_the_run_records_its_tokens_and_cost(start_openai_stub: StartStub) -> None:
    stub = await start_openai_stub(api_key=KEY)
    data = await analyse(stub, limits=RunLimits(prompt_price_per_1k=0.5, completion_price_per_1k=2.0))

    usage = data.llm_usage
    assert usage is not None
    reported = [u for u in stub.usages if u is not None]
    prompt = sum(u["prompt_tokens"] for u in reported)
    completion = sum(u["completion_tokens"] for u in reported)
    assert (usage.prompt_tokens, usage.completion_tokens) == (prompt, completion)
    assert usage.total_tokens == prompt + completion and not usage.estimated
    assert usage.cost_usd == pytest.approx((prompt * 0.5 + completion * 2.0) / 1000)
    assert [(s.step, s.prompt_tokens, s.completion_tokens) for s in usage.steps] == [
        (step, u["prompt_tokens"], u["completion_tokens"]) for step, u in zip(STEPS, reported, strict=True)
    ]
    assert usage.model == "gpt-4o-mini" and usage.token_budget == 150_000


async def test_usage_the_endpoint_does_not_report_is_estimated(start_openai_stub: StartStub) -> None:
    stub = await start_openai_stub(api_key=KEY, report_usage=False)
    data = await analyse(stub)

    assert data.llm_usage is not None and data.llm_usage.estimated
    assert all(step.estimated and step.prompt_tokens > 100 for step in data.llm_usage.steps)
    # About four characters a token, from the very text sent.
    sent_chars = sum(len(m["content"]) for r in stub.requests for m in r["messages"])
    assert data.llm_usage.prompt_tokens == pytest.approx(sent_chars / 4, rel=0.02)


async def test_server_errors_and_rate_limits_are_retried_with_backoff(start_openai_stub: StartStub) -> None:
    stub = await start_openai_stub(api_key=KEY, server_errors=2, rate_limits=1)
    data = await analyse(stub)

    assert len(data.generated_hooks) == 5
    assert stub.statuses == [429, 500, 500, 200, 200, 200, 200]
    # HTTP retries are the client's: each step still took one answer.
    assert attempts(data) == {step: (1, 0) for step in STEPS}


async def test_an_endpoint_that_keeps_failing_gives_up_with_a_clear_error(
    start_openai_stub: StartStub,
) -> None:
    stub = await start_openai_stub(api_key=KEY, server_errors=100)
    with pytest.raises(AnalysisEngineError, match=r"did not answer after 3 attempts \(last: HTTP 500\)"):
        await analyse(stub, max_retries=2)
    assert stub.statuses == [500, 500, 500]


async def test_a_slow_endpoint_times_out_and_is_retried(start_openai_stub: StartStub) -> None:
    stub = await start_openai_stub(api_key=KEY, delay_s=1.0)
    with pytest.raises(AnalysisEngineError, match="timed out"):
        await analyse(stub, timeout_s=0.2, max_retries=1)
    assert len(stub.requests) == 2


async def test_a_wrong_key_fails_at_once_without_revealing_it(
    start_openai_stub: StartStub, caplog: pytest.LogCaptureFixture
) -> None:
    stub = await start_openai_stub(api_key="sk-the-right-one")
    engine = engine_for(stub)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(
            AnalysisEngineError, match="refused the API key \\(HTTP 401\\); check OPENAI_API_KEY"
        ) as failure:
            await engine.analyse(baker_input())
    finally:
        await engine.close()

    assert stub.statuses == [401]
    assert KEY not in str(failure.value)
    assert KEY not in repr(engine)
    assert all(KEY not in record.getMessage() for record in caplog.records)


async def test_retries_never_log_the_key(
    start_openai_stub: StartStub, caplog: pytest.LogCaptureFixture
) -> None:
    stub = await start_openai_stub(api_key=KEY, server_errors=1, invalid_json=1)
    caplog.set_level(logging.DEBUG)
    await analyse(stub)

    messages = [record.getMessage() for record in caplog.records if record.name.startswith("libs.analysis")]
    assert any("retrying" in message for message in messages)
    assert any("rejected (invalid_json)" in message for message in messages)
    assert all(KEY not in message for message in messages)
