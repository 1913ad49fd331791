"""The language-model engine against a real OpenAI-compatible stub over HTTP."""

from __future__ import annotations

import logging

import orjson
import pytest

from libs.analysis import AnalysisEngineError, OpenAICompatibleEngine, grounding_errors
from libs.analysis.prompt import system_prompt
from tests.analysis.conftest import StartStub
from tests.analysis.samples import GENERATED_AT, baker_input
from tests.support.openai_stub import OpenAIStub

KEY = "sk-test-0123456789abcdef"


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


async def test_a_valid_answer_is_validated_and_returned(start_openai_stub: StartStub) -> None:
    stub = await start_openai_stub(api_key=KEY)
    engine = engine_for(stub)
    analysis_input = baker_input()
    try:
        data = await engine.analyse(analysis_input)
    finally:
        await engine.close()

    assert len(data.generated_hooks) == len(data.complete_scripts) == 5
    assert grounding_errors(data, analysis_input) == []
    assert data.analysis_summary.engine == "openai"
    assert data.analysis_summary.generated_at == GENERATED_AT
    assert engine.name == "openai" and engine.version == "openai-1.0-gpt-4o-mini"
    [request] = stub.requests
    assert request["model"] == "gpt-4o-mini"
    assert request["response_format"] == {"type": "json_object"}
    assert request["temperature"] <= 0.3
    system, user = request["messages"]
    assert system == {"role": "system", "content": system_prompt()}
    sent = orjson.loads(user["content"])
    assert sent["hooks_count"] == 5
    assert sent["content_strategy"]["targetAudience"] == "Beginner home bakers"
    gina = sent["competitors"][0]["reels"][0]
    assert gina["transcript"].startswith("Stop buying gluten free bread.")


async def test_the_system_prompt_carries_the_exact_schema() -> None:
    prompt = system_prompt()
    assert '"generated_hooks"' in prompt and '"adapted_from"' in prompt
    assert "curiosity_gap" in prompt and "exactly hooks_count" in prompt


async def test_an_answer_that_is_not_json_is_sent_back_and_the_retry_succeeds(
    start_openai_stub: StartStub,
) -> None:
    stub = await start_openai_stub(api_key=KEY, invalid_json=1)
    engine = engine_for(stub)
    try:
        data = await engine.analyse(baker_input())
    finally:
        await engine.close()

    assert len(data.generated_hooks) == 5
    assert len(stub.requests) == 2
    retry = stub.requests[1]["messages"]
    assert [message["role"] for message in retry] == ["system", "user", "assistant", "user"]
    assert retry[2]["content"].startswith("Sure! Here is your analysis")
    assert "not valid JSON" in retry[3]["content"]


async def test_an_answer_about_reels_that_were_never_sent_is_retried(start_openai_stub: StartStub) -> None:
    stub = await start_openai_stub(api_key=KEY, ungrounded=1)
    engine = engine_for(stub)
    try:
        await engine.analyse(baker_input())
    finally:
        await engine.close()

    assert len(stub.requests) == 2
    assert "'made-up-reel' is not an input reel" in stub.requests[1]["messages"][3]["content"]


async def test_persistently_schema_invalid_answers_fail_with_the_reasons(
    start_openai_stub: StartStub,
) -> None:
    stub = await start_openai_stub(api_key=KEY, schema_invalid=100)
    engine = engine_for(stub)
    try:
        with pytest.raises(AnalysisEngineError) as failure:
            await engine.analyse(baker_input())
    finally:
        await engine.close()

    assert len(stub.requests) == 3
    message = str(failure.value)
    assert "no valid analysis in 3 attempts" in message
    assert "individual_reel_analyses.0.effectiveness_score" in message
    feedback = stub.requests[2]["messages"][3]["content"]
    assert "generated_hooks" in feedback and "expected exactly 5" in feedback


async def test_server_errors_and_rate_limits_are_retried_with_backoff(start_openai_stub: StartStub) -> None:
    stub = await start_openai_stub(api_key=KEY, server_errors=2, rate_limits=1)
    engine = engine_for(stub)
    try:
        data = await engine.analyse(baker_input())
    finally:
        await engine.close()

    assert len(data.generated_hooks) == 5
    assert stub.statuses == [429, 500, 500, 200]


async def test_an_endpoint_that_keeps_failing_gives_up_with_a_clear_error(
    start_openai_stub: StartStub,
) -> None:
    stub = await start_openai_stub(api_key=KEY, server_errors=100)
    engine = engine_for(stub, max_retries=2)
    try:
        with pytest.raises(AnalysisEngineError, match=r"did not answer after 3 attempts \(last: HTTP 500\)"):
            await engine.analyse(baker_input())
    finally:
        await engine.close()
    assert stub.statuses == [500, 500, 500]


async def test_a_slow_endpoint_times_out_and_is_retried(start_openai_stub: StartStub) -> None:
    stub = await start_openai_stub(api_key=KEY, delay_s=1.0)
    engine = engine_for(stub, timeout_s=0.2, max_retries=1)
    try:
        with pytest.raises(AnalysisEngineError, match="timed out"):
            await engine.analyse(baker_input())
    finally:
        await engine.close()
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
    engine = engine_for(stub)
    caplog.set_level(logging.DEBUG)
    try:
        await engine.analyse(baker_input())
    finally:
        await engine.close()

    messages = [record.getMessage() for record in caplog.records if record.name.startswith("libs.analysis")]
    assert any("retrying" in message for message in messages)
    assert any("rejected (invalid_json)" in message for message in messages)
    assert all(KEY not in message for message in messages)
