"""llm_judge metrics: the captured judge prompt holds the rubric and exactly the parts of
the trace the metric sees; each score type; the metric's own model; the judge cache keyed
by version; failures as the built-ins fail."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant
from tests.evals.metrics.helpers import METRICS, define, post_trace, run_scores, say
from tests.fakes.openai_server import FakeJudgeServer, RecordedRequest

QUESTION = "Where is my order #42? It was due yesterday."
ANSWER = "It ships on Friday, sorry for the wait."
LLM_STEP = "LLM step says: look the order up."
RUBRIC = "The agent apologises for a late order and gives a concrete date."
STEPS = ["Find the user's complaint.", "Check the reply names a date."]


def _judge_prompts(judge: FakeJudgeServer, schema: str) -> list[RecordedRequest]:
    return [r for r in judge.requests if r.schema_name == schema]


async def _trace(client: httpx.AsyncClient) -> str:
    return await post_trace(client, question=QUESTION, output=say(ANSWER), tools=("lookup_order",))


async def test_rubric_prompt_holds_the_rubric_and_the_input_and_output(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    await define(
        eval_client, "apology_with_date", "llm_judge",
        {"criteria": RUBRIC, "evaluation_steps": STEPS, "score_type": "BOOLEAN",
         "sees": "input_output"},
    )  # fmt: skip
    judge.answers["PassFailAnswer"] = {"reason": "No date was given.", "passed": False}
    trace = await _trace(eval_client)
    run, scores = await run_scores(eval_client, [trace], ["apology_with_date"])
    [request] = _judge_prompts(judge, "PassFailAnswer")
    prompt = request.prompt_text
    assert RUBRIC in prompt
    assert "1. Find the user's complaint.\n2. Check the reply names a date." in prompt
    assert QUESTION in prompt and ANSWER in prompt
    assert LLM_STEP not in prompt and "lookup_order" not in prompt  # no steps: input/output
    score = scores[(trace, "apology_with_date")]
    assert score["status"] == "SUCCESS" and score["data_type"] == "BOOLEAN"
    assert score["value"] == "false" and score["reason"] == "No date was given."
    assert score["model"] == "openai/gpt-4o-mini" and score["judge_calls"] == 1
    assert score["cost_usd"] > 0 and run["cost_usd"] == score["cost_usd"]
    assert score["metadata"]["metric_version"] == 1 and score["metadata"]["success"] is False
    assert score["metadata"]["judge"]["requests"] == 1


async def test_what_the_judge_sees(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    base = {"criteria": RUBRIC, "score_type": "NUMERIC"}
    await define(eval_client, "sees_tools", "llm_judge", {**base, "sees": "tool_calls"})
    await define(
        eval_client, "sees_llm", "llm_judge", {**base, "sees": "span_kinds", "span_kinds": ["LLM"]}
    )
    await define(eval_client, "sees_all", "llm_judge", {**base, "sees": "all_steps"})
    trace = await _trace(eval_client)
    await run_scores(eval_client, [trace], ["sees_tools", "sees_llm", "sees_all"])
    asked = [r.prompt_text for r in _judge_prompts(judge, "ScoreAnswer")]
    prompts = {
        kind: next(text for text in asked if kind in text)
        for kind in ("tool calls", "LLM steps", "every step")
    }
    tools = prompts["tool calls"]
    assert "1. lookup_order" in tools and '{"query":"q0"}' in tools
    assert ANSWER not in tools and LLM_STEP not in tools
    llm = prompts["LLM steps"]
    assert LLM_STEP in llm and "lookup_order" not in llm and ANSWER not in llm
    everything = prompts["every step"]
    assert all(part in everything for part in (QUESTION, ANSWER, LLM_STEP, "lookup_order"))
    assert all(RUBRIC in prompt for prompt in prompts.values())


async def test_numeric_threshold_and_categorical_labels(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    await define(
        eval_client, "helpful", "llm_judge",
        {"criteria": "Helpful.", "score_type": "NUMERIC", "threshold": 0.9},
    )  # fmt: skip
    await define(
        eval_client, "tone", "llm_judge",
        {"criteria": "The reply's tone.", "score_type": "CATEGORICAL",
         "labels": ["warm", "neutral", "rude"]},
    )  # fmt: skip
    judge.answers["LabelAnswer"] = {"reason": "Curt.", "label": "rude"}
    trace = await _trace(eval_client)
    _, scores = await run_scores(eval_client, [trace], ["helpful", "tone"])
    helpful = scores[(trace, "helpful")]
    assert helpful["data_type"] == "NUMERIC" and helpful["value"] == "0.8"  # the fake's 0.8
    assert helpful["metadata"]["threshold"] == 0.9 and helpful["metadata"]["success"] is False
    tone = scores[(trace, "tone")]
    assert tone["status"] == "SUCCESS" and tone["data_type"] == "CATEGORICAL"
    assert tone["value"] == "rude" and tone["reason"] == "Curt."
    [request] = _judge_prompts(judge, "LabelAnswer")
    schema: dict[str, Any] = request.body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["label"]["enum"] == ["warm", "neutral", "rude"]
    assert "Labels: warm, neutral, rude." in request.prompt_text


async def test_own_model_and_the_cache_keyed_by_version(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    await define(
        eval_client, "helpful", "llm_judge",
        {"criteria": "Helpful.", "model": "openai/gpt-4o", "threshold": 0.5},
    )  # fmt: skip
    trace = await _trace(eval_client)
    run, scores = await run_scores(eval_client, [trace], ["helpful"])
    assert [r.body["model"] for r in judge.requests] == ["gpt-4o"]
    assert scores[(trace, "helpful")]["model"] == "openai/gpt-4o"
    assert run["model"] == "openai/gpt-4o-mini"  # the run's own model is unchanged

    again, cached = await run_scores(eval_client, [trace], ["helpful"])
    assert len(judge.requests) == 1 and again["judge_calls"] == 0  # the judge cache answered
    assert cached[(trace, "helpful")]["metadata"]["judge"]["cached"] == 1

    # A new version whose prompt is the same (only the threshold moved) asks the judge again.
    edited = await eval_client.patch(
        f"{METRICS}/helpful",
        json={"config": {"criteria": "Helpful.", "model": "openai/gpt-4o", "threshold": 0.9}},
    )
    assert edited.json()["version"] == 2
    _, fresh = await run_scores(eval_client, [trace], ["helpful"])
    assert len(judge.requests) == 2
    assert judge.requests[0].prompt_text == judge.requests[1].prompt_text
    assert fresh[(trace, "helpful")]["metadata"]["metric_version"] == 2


async def test_unparseable_answer_fails_like_a_builtin(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    await define(
        eval_client, "polite", "llm_judge", {"criteria": "Polite.", "score_type": "BOOLEAN"}
    )
    judge.malformed_next(times=2)
    trace = await _trace(eval_client)
    run, scores = await run_scores(eval_client, [trace], ["polite"])
    assert run["failed_count"] == 1
    score = scores[(trace, "polite")]
    assert score["status"] == "FAILED" and score["value"] is None
    assert score["data_type"] == "BOOLEAN"
    assert score["reason"].startswith("unparseable_answer: ")
    assert score["metadata"]["error"] == "unparseable_answer" and score["judge_calls"] == 2
