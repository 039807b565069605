"""The LiteLLM judge over real HTTP: the retry taxonomy row by row, repair, accounting,
cache and budget."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from pydantic import BaseModel

from fakes.openai_server import FakeJudgeServer, Reply
from sightline.engine.budget import Budget
from sightline.engine.errors import (
    BudgetExhausted,
    ContextOverflow,
    JudgeAuthError,
    JudgeModelError,
    RetryableJudgeError,
    UnparseableAnswer,
)
from sightline.engine.judge import InMemoryJudgeCache, JudgeRequest, LiteLLMJudge, resolve_model
from sightline.engine.limits import Limits

from .conftest import make_settings


class Grade(BaseModel):
    score: float
    reason: str


REQUEST = JudgeRequest("Grade this answer: 42", Grade)


async def test_structured_request_reaches_the_server_with_strict_schema(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    fake_server.answers["Grade"] = {"score": 0.9, "reason": "fine"}
    result = await judge.complete(REQUEST)
    assert result.answer == Grade(score=0.9, reason="fine")
    [sent] = fake_server.requests
    assert sent.body["model"] == "fake-judge"
    assert sent.body["temperature"] == 0.0
    response_format = sent.body["response_format"]
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["schema"]["additionalProperties"] is False
    assert response_format["json_schema"]["schema"]["required"] == ["score", "reason"]
    assert [m["role"] for m in sent.body["messages"]] == ["system", "user"]
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.usage.requests == 1


async def test_429_is_retried_after_retry_after(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    fake_server.fail_next(429, times=1, retry_after=0.4)
    started = time.monotonic()
    result = await judge.complete(REQUEST)
    assert time.monotonic() - started >= 0.4
    assert len(fake_server.requests) == 2
    assert result.usage.requests == 2


async def test_500_is_retried(judge: LiteLLMJudge, fake_server: FakeJudgeServer) -> None:
    fake_server.fail_next(500, times=2)
    await judge.complete(REQUEST)
    assert len(fake_server.requests) == 3


async def test_timeout_is_retried(fake_server: FakeJudgeServer) -> None:
    judge = LiteLLMJudge(make_settings(fake_server, timeout_seconds=0.5))
    fake_server.slow_next(2.0)
    result = await judge.complete(REQUEST)
    assert len(fake_server.requests) == 2
    assert result.usage.requests == 2


async def test_retryable_errors_give_up_after_max_attempts(fake_server: FakeJudgeServer) -> None:
    judge = LiteLLMJudge(make_settings(fake_server, max_attempts=3))
    fake_server.fail_next(503, times=10)
    with pytest.raises(RetryableJudgeError, match="after 3 attempts"):
        await judge.complete(REQUEST)
    assert len(fake_server.requests) == 3


async def test_bad_key_is_permanent_without_retry(fake_server: FakeJudgeServer) -> None:
    judge = LiteLLMJudge(make_settings(fake_server, api_key="wrong"))
    with pytest.raises(JudgeAuthError):
        await judge.complete(REQUEST)
    assert len(fake_server.requests) == 1


async def test_unknown_model_is_permanent_without_retry(fake_server: FakeJudgeServer) -> None:
    fake_server.known_models = {"fake-judge"}
    judge = LiteLLMJudge(make_settings(fake_server, model="openai/no-such-model"))
    with pytest.raises(JudgeModelError, match="does not exist"):
        await judge.complete(REQUEST)
    assert len(fake_server.requests) == 1


async def test_context_window_exceeded_is_a_distinct_permanent_error(
    fake_server: FakeJudgeServer,
) -> None:
    fake_server.context_limit_tokens = 10
    judge = LiteLLMJudge(make_settings(fake_server))
    with pytest.raises(ContextOverflow):
        await judge.complete(REQUEST)
    assert len(fake_server.requests) == 1


async def test_malformed_answer_is_repaired_once(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    fake_server.malformed_next(times=1)
    fake_server.answers["Grade"] = {"score": 0.7, "reason": "ok"}
    result = await judge.complete(REQUEST)
    assert result.repaired and result.answer.score == 0.7
    repair = fake_server.requests[1].body["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Sure! The score is high."}
    assert "rejected" in repair[-1]["content"]
    assert result.usage.requests == 2


async def test_still_malformed_after_repair_is_permanent(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    fake_server.malformed_next(times=5)
    with pytest.raises(UnparseableAnswer) as failure:
        await judge.complete(REQUEST)
    assert len(fake_server.requests) == 2
    assert failure.value.usage.requests == 2  # both answers were paid for
    assert failure.value.usage.prompt_tokens > 0


async def test_code_fenced_answer_is_accepted(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    fake_server.answers["Grade"] = '```json\n{"score": 0.5, "reason": "fenced"}\n```'
    result = await judge.complete(REQUEST)
    assert result.answer.reason == "fenced" and not result.repaired


async def test_priced_model_has_a_cost(fake_server: FakeJudgeServer) -> None:
    judge = LiteLLMJudge(make_settings(fake_server, model="openai/gpt-4o-mini"))
    result = await judge.complete(REQUEST)
    assert result.usage.cost_usd > 0
    assert fake_server.requests[0].body["model"] == "gpt-4o-mini"


async def test_unpriced_model_costs_zero_with_a_note(judge: LiteLLMJudge) -> None:
    result = await judge.complete(REQUEST)
    assert result.usage.cost_usd == 0.0
    assert any("unpriced model" in note for note in result.usage.notes)


async def test_cache_hit_makes_no_call_and_costs_nothing(fake_server: FakeJudgeServer) -> None:
    cache = InMemoryJudgeCache()
    settings = make_settings(fake_server, model="openai/gpt-4o-mini")
    first = await LiteLLMJudge(settings, cache=cache).complete(REQUEST)
    second = await LiteLLMJudge(settings, cache=cache).complete(REQUEST)
    assert len(fake_server.requests) == 1
    assert second.cached and second.answer == first.answer
    assert second.usage.prompt_tokens == 0 and second.usage.cost_usd == 0.0
    assert second.usage.cached == 1


async def test_budget_exhausted_stops_new_calls(fake_server: FakeJudgeServer) -> None:
    budget = Budget(max_cost_usd=1e-9)
    judge = LiteLLMJudge(make_settings(fake_server, model="openai/gpt-4o-mini"), budget=budget)
    await judge.complete(REQUEST)
    assert budget.spent_usd > 0
    with pytest.raises(BudgetExhausted):
        await judge.complete(JudgeRequest("another question", Grade))
    assert len(fake_server.requests) == 1


async def test_embeddings_are_cached_per_text(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    first = await judge.embed(["red apples", "green pears"])
    second = await judge.embed(["green pears", "red apples"])
    assert len(fake_server.requests) == 1
    assert second.vectors == (first.vectors[1], first.vectors[0])
    assert second.usage.cached == 2


async def test_scripted_responder_can_fail_any_request(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    fake_server.responder = lambda body: Reply(
        status=400, body={"error": {"message": "bad request"}}
    )
    with pytest.raises(JudgeModelError):
        await judge.complete(REQUEST)


def test_model_names_are_resolved_like_pandaprobe() -> None:
    assert resolve_model("gpt-4o") == "openai/gpt-4o"
    assert resolve_model("o3-mini") == "openai/o3-mini"
    assert resolve_model("claude-3-5-sonnet") == "anthropic/claude-3-5-sonnet"
    assert resolve_model("gemini-1.5-pro") == "gemini/gemini-1.5-pro"
    assert resolve_model("vertex_ai/gemini-pro") == "vertex_ai/gemini-pro"
    assert resolve_model("my-local-model") == "my-local-model"


def test_importing_the_engine_does_not_import_litellm() -> None:
    code = (
        "import sys, sightline.engine, sightline.engine.judge, sightline.engine.metrics;"
        "assert 'litellm' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_limits_are_shared_between_judges(fake_server: FakeJudgeServer) -> None:
    settings = make_settings(fake_server)
    limits = Limits.from_settings(settings)
    await LiteLLMJudge(settings, limits=limits).complete(REQUEST)
    await LiteLLMJudge(settings, limits=limits).complete(REQUEST)
    assert limits.requests_started == 2
