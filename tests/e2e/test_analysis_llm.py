"""The viral-analysis service with ANALYSIS_ENGINE=openai against the OpenAI-compatible stub: the chain's
tokens and cost stored with the result, and a run stopped by its token budget failing the job with why."""

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from libs.runtime import ServiceRuntime
from services.viral_analysis.__main__ import build as build_analysis
from tests.e2e.test_viral_analysis import COMPETITORS, analysis_settings, submit, wait_job
from tests.provider.provider_harness import RunningSimulator
from tests.support.openai_stub import OpenAIStub, start_openai_stub
from tests.support.runtime import running

BUDGET = 100_000


@pytest.fixture
async def sim(start_simulator) -> RunningSimulator:
    return await start_simulator(seed=11)


@pytest.fixture
async def stub() -> AsyncIterator[OpenAIStub]:
    stub = await start_openai_stub(api_key="sk-e2e")
    yield stub
    await stub.stop()


@pytest.fixture
async def analysis(
    database_url, amqp_url, topology, sim, api, stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ServiceRuntime]:
    # The engine is chosen as the service chooses it: from the environment and its settings.
    monkeypatch.setenv("ANALYSIS_ENGINE", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-e2e")
    settings = analysis_settings(
        database_url,
        amqp_url,
        topology,
        analysis_llm_token_budget=BUDGET,
        analysis_llm_prompt_price_per_1k=0.5,
        analysis_llm_completion_price_per_1k=1.0,
    )
    runtime = build_analysis(settings, sim.provider())
    async with running(runtime):
        yield runtime


async def test_the_chain_records_its_cost_and_its_budget_fails_a_job_with_why(
    api: TestClient, analysis: ServiceRuntime, stub: OpenAIStub
) -> None:
    created = await submit(api, "session-llm", competitors=COMPETITORS[:2])
    done = await wait_job(api, "session-llm", "completed", "failed")
    assert done["status"] == "completed", done["error_message"]
    results = (await (await api.get(f"/api/viral-analysis/{created['id']}/results")).json())["data"]
    assert results["analysis"]["workflow_version"] == "openai-2.0-gpt-4o-mini"
    assert results["analysis_summary"]["engine"] == "openai"
    usage = results["analysis_data"]["llm_usage"]
    reported = [u for u in stub.usages if u]
    prompt = sum(u["prompt_tokens"] for u in reported)
    completion = sum(u["completion_tokens"] for u in reported)
    assert [step["step"] for step in usage["steps"]] == ["profile", "hooks", "generation", "scripts"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (prompt, completion)
    assert usage["token_budget"] == BUDGET and prompt + completion < BUDGET
    assert usage["cost_usd"] == pytest.approx((prompt * 0.5 + completion * 1.0) / 1000)

    # The endpoint now reports that every answer cost most of the budget: the second answer spends it.
    stub.behaviour.prompt_tokens = BUDGET * 6 // 10
    await submit(api, "session-llm-budget", primary="fit.coach.amy", competitors=COMPETITORS[1:3])
    failed = await wait_job(api, "session-llm-budget", "failed")
    message = failed["error_message"]
    assert message.startswith(
        f"The analysis engine failed: The token budget of {BUDGET} tokens per run "
        "(ANALYSIS_LLM_TOKEN_BUDGET) is exhausted at step 'hooks' (individual_reel_analyses): "
    )
    assert f"{2 * BUDGET * 6 // 10} prompt and " in message
    assert failed["status_category"] == "error" and failed["can_be_rerun"] is True
