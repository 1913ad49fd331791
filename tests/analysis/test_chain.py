"""The chain's recovery from an invalid step answer, and its token budget, against the stub over HTTP."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from libs.analysis import AnalysisEngineError, LocalEngine
from libs.analysis.results import AnalysisData
from libs.analysis.usage import CAP_COMPLETION_BELOW, BudgetExhausted, RunLimits, estimate_prompt
from tests.analysis.conftest import StartStub
from tests.analysis.samples import GENERATED_AT, baker_input
from tests.analysis.test_openai_engine import KEY, STEPS, analyse, attempts, sent, steps_asked
from tests.support.openai_stub import OpenAIStub


def local_data() -> dict[str, Any]:
    data = LocalEngine(clock=lambda: GENERATED_AT).analyse_now(baker_input()).model_dump(mode="json")
    data["analysis_summary"].pop("engine")
    return data


def same_as_local(data: AnalysisData) -> bool:
    ours = data.model_dump(mode="json")
    assert ours.pop("llm_usage")["total_tokens"] > 0
    ours["analysis_summary"].pop("engine")
    return ours == local_data()


def feedback(stub: OpenAIStub, request: int) -> str:
    messages = stub.requests[request]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    content: str = messages[3]["content"]
    return content


async def test_json_in_a_code_fence_is_repaired_without_asking_again(start_openai_stub: StartStub) -> None:
    stub = await start_openai_stub(api_key=KEY, faults={"profile": ["fenced"], "scripts": ["fenced"]})
    data = await analyse(stub)

    assert same_as_local(data)
    assert steps_asked(stub) == STEPS
    assert attempts(data) == {"profile": (1, 1), "hooks": (1, 0), "generation": (1, 0), "scripts": (1, 1)}


# A spoilt answer at one step, the steps asked in turn, and the reason sent back with the retry.
# Within a step: caught before the next step is asked. Across sections: caught once the document is
# whole, the offending step asked again and every step after it too.
RECOVERIES = {
    "not-json": (
        {"hooks": ["prose"]},
        ["profile", "hooks", "hooks", "generation", "scripts"],
        "the answer is not valid JSON",
    ),
    "schema-violation": (
        {"generation": ["schema"]},
        ["profile", "hooks", "generation", "generation", "scripts"],
        "generated_hooks.0.hook_text: Field required",
    ),
    "hook-citing-an-unknown-reel": (
        {"generation": ["unknown_reel"]},
        ["profile", "hooks", "generation", "generation", "scripts"],
        "generated_hooks[0].adapted_from.content_id 'made-up-reel' is not an input reel",
    ),
    "analysis-of-an-unknown-reel": (
        {"hooks": ["unknown_reel"]},
        ["profile", "hooks", "hooks", "generation", "scripts"],
        "individual_reel_analyses[0].content_id 'made-up-reel' is not an input reel",
    ),
    "too-few-hooks": (
        {"generation": ["one_less"]},
        ["profile", "hooks", "generation", "scripts", "generation", "scripts"],
        "generated_hooks has 4 items, expected exactly 5",
    ),
}


@pytest.mark.parametrize(("faults", "asked", "reason"), RECOVERIES.values(), ids=RECOVERIES.keys())
async def test_an_invalid_step_answer_is_sent_back_and_the_run_recovers(
    start_openai_stub: StartStub, faults: dict[str, list[str]], asked: list[str], reason: str
) -> None:
    stub = await start_openai_stub(api_key=KEY, faults=faults)
    data = await analyse(stub)

    assert same_as_local(data)
    assert steps_asked(stub) == asked
    [step] = faults
    retry = asked.index(step, asked.index(step) + 1)
    assert reason in feedback(stub, retry)
    assert attempts(data) == {name: (asked.count(name), 0) for name in STEPS}


async def test_a_cross_section_failure_goes_back_to_the_step_that_caused_it(
    start_openai_stub: StartStub,
) -> None:
    stub = await start_openai_stub(api_key=KEY, faults={"generation": ["off_topic"]})
    data = await analyse(stub)

    assert same_as_local(data)
    # The hooks' topics are checked against the profile's once the document is whole: generation is
    # asked again with the reason, and the scripts written for the rejected hooks are written again.
    assert steps_asked(stub) == ["profile", "hooks", "generation", "scripts", "generation", "scripts"]
    correction = feedback(stub, 4)
    assert "generated_hooks[0].target_topic 'astrology' is not one of profile_analysis.unexplored_topics" in (
        correction
    )
    assert orjson.loads(stub.requests[4]["messages"][2]["content"])["generated_hooks"][0]["target_topic"] == (
        "astrology"
    )
    assert "generated_hooks" not in sent(stub.requests[4])["accepted"]
    assert attempts(data) == {"profile": (1, 0), "hooks": (1, 0), "generation": (2, 0), "scripts": (2, 0)}


async def test_sections_that_never_agree_fail_the_run(start_openai_stub: StartStub) -> None:
    stub = await start_openai_stub(api_key=KEY, faults={"generation": ["off_topic"] * 3})
    with pytest.raises(AnalysisEngineError, match="gave no analysis whose sections agree in 3 attempts"):
        await analyse(stub)
    assert steps_asked(stub).count("generation") == 3


async def test_a_step_that_keeps_failing_fails_the_run_with_the_reasons(start_openai_stub: StartStub) -> None:
    stub = await start_openai_stub(api_key=KEY, faults={"scripts": ["schema"] * 5})
    with pytest.raises(AnalysisEngineError) as failure:
        await analyse(stub)

    assert steps_asked(stub) == ["profile", "hooks", "generation", "scripts", "scripts", "scripts"]
    message = str(failure.value)
    assert "no valid complete_scripts (step scripts) in 3 attempts" in message
    assert "complete_scripts.0.hook: Field required" in message


async def reference_run(start_openai_stub: StartStub, **behaviour: Any) -> tuple[list[int], list[int]]:
    """Each step's prompt as the chain estimates it and its tokens as the stub reports them, unbudgeted:
    the budgets below are cut from them, so they hold whatever the sections grow into."""
    stub = await start_openai_stub(api_key=KEY, **behaviour)
    await analyse(stub)
    assert steps_asked(stub) == STEPS
    used = [u["prompt_tokens"] + u["completion_tokens"] for u in stub.usages if u]
    return [estimate_prompt(request["messages"]) for request in stub.requests], used


async def test_the_budget_stops_the_run_at_the_step_that_exhausts_it(start_openai_stub: StartStub) -> None:
    _, used = await reference_run(start_openai_stub, prompt_tokens=20_000)
    budget = used[0] + used[1] - 1
    stub = await start_openai_stub(api_key=KEY, prompt_tokens=20_000)
    before = _tokens("hooks", "prompt")
    with pytest.raises(BudgetExhausted) as failure:
        await analyse(stub, limits=RunLimits(token_budget=budget))

    assert steps_asked(stub) == ["profile", "hooks"]
    completion = used[0] + used[1] - 40_000
    assert str(failure.value) == (
        f"The token budget of {budget} tokens per run (ANALYSIS_LLM_TOKEN_BUDGET) is exhausted at step "
        f"'hooks' (individual_reel_analyses): {budget + 1} tokens used, 40000 prompt and {completion} completion"
    )
    assert isinstance(failure.value, AnalysisEngineError)
    assert _tokens("hooks", "prompt") - before == 20_000


async def test_a_step_whose_prompt_would_not_fit_is_never_sent(start_openai_stub: StartStub) -> None:
    prompts, used = await reference_run(start_openai_stub)
    budget = used[0] + used[1] + prompts[2]
    stub = await start_openai_stub(api_key=KEY)
    with pytest.raises(BudgetExhausted) as failure:
        await analyse(stub, limits=RunLimits(token_budget=budget))

    assert steps_asked(stub) == ["profile", "hooks"]
    assert str(failure.value) == (
        f"The token budget of {budget} tokens per run (ANALYSIS_LLM_TOKEN_BUDGET) leaves {prompts[2]} "
        f"tokens after {used[0] + used[1]} used, too few for step 'generation' (generated_hooks), whose "
        f"prompt alone needs about {prompts[2]}"
    )


async def test_the_last_tokens_of_the_budget_cap_the_answer(start_openai_stub: StartStub) -> None:
    prompts, used = await reference_run(start_openai_stub, prompt_tokens=1)
    budget = sum(used[:3]) + prompts[3] + 2_000
    stub = await start_openai_stub(api_key=KEY, prompt_tokens=1)
    data = await analyse(stub, limits=RunLimits(token_budget=budget))

    caps = [request.get("max_tokens") for request in stub.requests]
    assert caps[3] == 2_000
    # What is left after the prompt, once it is less than any model's answer limit; nothing before.
    left = [budget - sum(used[:step]) - prompts[step] for step in range(4)]
    assert caps == [n if n < CAP_COMPLETION_BELOW else None for n in left]
    assert caps[0] is None
    assert data.llm_usage is not None and data.llm_usage.total_tokens == sum(used)


def _tokens(step: str, kind: str) -> float:
    value = REGISTRY.get_sample_value("viralspot_analysis_llm_tokens_total", {"step": step, "kind": kind})
    return value or 0.0
