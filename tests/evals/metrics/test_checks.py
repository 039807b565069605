"""Each deterministic check kind on traces whose answer is known, both outcomes, through
HTTP: a BOOLEAN "true"/"false" score with its reason, no judge call, cost 0."""

from __future__ import annotations

import json
import time

import httpx

from sightline.engine.metrics.custom.config import compile_pattern
from tests.conftest import Tenant
from tests.evals.factories import wait_for_run
from tests.evals.metrics.helpers import define, post_trace, run_scores, say
from tests.fakes.openai_server import FakeJudgeServer


def _assert_check(score: dict[str, object], value: str, version: int = 1) -> None:
    assert score["status"] == "SUCCESS", score
    assert score["data_type"] == "BOOLEAN" and score["value"] == value, score
    assert score["model"] is None and score["judge_calls"] == 0 and score["cost_usd"] == 0.0
    metadata = score["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["metric_version"] == version and metadata["success"] is (value == "true")
    assert "judge" not in metadata


async def test_regex_both_ways(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    await define(
        eval_client, "no_apology", "regex",
        {"field": "output", "pattern": "(?i)sorry|apolog", "must_match": False},
        description="never apologises",
    )  # fmt: skip
    await define(eval_client, "cites_order", "regex", {"field": "input", "pattern": r"#\d{4}"})
    await define(
        eval_client, "tool_said_result", "regex",
        {"field": "span_kind:TOOL", "pattern": r"tool result \d"},
    )  # fmt: skip
    polite = await post_trace(
        eval_client, output=say("Your order ships today."), question="Where is #1234?",
        tools=("lookup_order",),
    )  # fmt: skip
    sorry = await post_trace(eval_client, output=say("I'm SORRY, I cannot help."))
    metrics = ["no_apology", "cites_order", "tool_said_result"]
    run, scores = await run_scores(eval_client, [polite, sorry], metrics)
    assert run["status"] == "COMPLETED" and run["judge_calls"] == 0 and run["cost_usd"] == 0
    assert judge.requests == []
    _assert_check(scores[(polite, "no_apology")], "true")
    _assert_check(scores[(sorry, "no_apology")], "false")
    assert scores[(sorry, "no_apology")]["reason"] == (
        "output matches '(?i)sorry|apolog' at 4: 'SORRY'"
    )
    assert scores[(polite, "no_apology")]["reason"] == "output has no match for '(?i)sorry|apolog'"
    _assert_check(scores[(polite, "cites_order")], "true")
    _assert_check(scores[(sorry, "cites_order")], "false")
    _assert_check(scores[(polite, "tool_said_result")], "true")
    _assert_check(scores[(sorry, "tool_said_result")], "false")  # no TOOL span: empty text


async def test_contains_modes_and_case(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    await define(
        eval_client, "mentions_all", "contains", {"phrases": ["order", "TODAY"], "mode": "all"}
    )
    await define(
        eval_client, "mentions_any", "contains",
        {"phrases": ["refund", "ships"], "mode": "any", "case_sensitive": True},
    )  # fmt: skip
    await define(
        eval_client, "no_forbidden", "contains", {"phrases": ["guarantee"], "mode": "none"}
    )
    good = await post_trace(eval_client, output=say("Your order ships today."))
    bad = await post_trace(eval_client, output=say("We GUARANTEE a Refund; Ships soon."))
    metrics = ["mentions_all", "mentions_any", "no_forbidden"]
    _, scores = await run_scores(eval_client, [good, bad], metrics)
    _assert_check(scores[(good, "mentions_all")], "true")
    _assert_check(scores[(bad, "mentions_all")], "false")
    assert scores[(bad, "mentions_all")]["reason"] == "output lacks 2 of 2: 'order', 'TODAY'"
    _assert_check(scores[(good, "mentions_any")], "true")
    _assert_check(scores[(bad, "mentions_any")], "false")  # case-sensitive: "Refund", "Ships"
    _assert_check(scores[(good, "no_forbidden")], "true")
    _assert_check(scores[(bad, "no_forbidden")], "false")
    assert scores[(bad, "no_forbidden")]["reason"] == "output has forbidden 'guarantee'"


async def test_json_schema_of_output_and_of_a_field(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    schema = {
        "type": "object",
        "required": ["answer", "confidence"],
        "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
    }
    await define(eval_client, "valid_reply", "json_schema", {"schema": schema})
    await define(
        eval_client, "first_item_is_int", "json_schema",
        {"pointer": "/items/0", "schema": {"type": "integer", "minimum": 1}},
    )  # fmt: skip
    good = await post_trace(
        eval_client, output=json.dumps({"answer": "yes", "confidence": 0.9, "items": [3]})
    )
    wrong = await post_trace(eval_client, output=say(json.dumps({"answer": 3, "items": ["x"]})))
    prose = await post_trace(eval_client, output=say("Just text"))
    _, scores = await run_scores(
        eval_client, [good, wrong, prose], ["valid_reply", "first_item_is_int"]
    )
    _assert_check(scores[(good, "valid_reply")], "true")
    _assert_check(scores[(good, "first_item_is_int")], "true")
    failed = scores[(wrong, "valid_reply")]
    _assert_check(failed, "false")
    assert failed["reason"].startswith("output is not valid: ")
    assert scores[(wrong, "first_item_is_int")]["reason"] == (
        "output/items/0 is not valid: 'x' is not of type 'integer'"
    )
    assert scores[(prose, "valid_reply")]["reason"].startswith("the output is not JSON: ")
    _assert_check(scores[(prose, "valid_reply")], "false")


async def test_thresholds(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    await define(eval_client, "fast", "threshold", {"measure": "latency_ms", "max": 1000})
    await define(eval_client, "cheap", "threshold", {"measure": "cost_usd", "max": 0.01})
    await define(
        eval_client, "few_tokens", "threshold", {"measure": "total_tokens", "min": 10, "max": 500}
    )
    await define(eval_client, "small", "threshold", {"measure": "span_count", "max": 3})
    await define(eval_client, "no_errors", "threshold", {"measure": "error_count", "max": 0})
    lean = await post_trace(eval_client, seconds=0.5, llm_cost=0.001, tokens=(100, 20))
    heavy = await post_trace(
        eval_client, seconds=5, llm_cost=0.5, tokens=(900, 100), tools=("a", "b"), error_spans=1
    )
    metrics = ["fast", "cheap", "few_tokens", "small", "no_errors"]
    _, scores = await run_scores(eval_client, [lean, heavy], metrics)
    for metric in metrics:
        _assert_check(scores[(lean, metric)], "true")
        _assert_check(scores[(heavy, metric)], "false")
    assert scores[(heavy, "fast")]["reason"] == "latency_ms = 5000 is above the max 1000"
    assert scores[(lean, "few_tokens")]["reason"] == "total_tokens = 120 is >= 10 and <= 500"
    assert scores[(heavy, "no_errors")]["metadata"]["value"] == 1


async def test_tool_called(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    await define(eval_client, "looked_up", "tool_called", {"tool": "lookup_order"})
    await define(
        eval_client, "looked_up_once", "tool_called",
        {"tool": "lookup_order", "min_times": 1, "max_times": 1},
    )  # fmt: skip
    await define(eval_client, "no_refund", "tool_called", {"tool": "refund", "called": False})
    once = await post_trace(eval_client, tools=("lookup_order",))
    twice = await post_trace(eval_client, tools=("lookup_order", "lookup_order", "refund"))
    never = await post_trace(eval_client, tools=("search",))
    metrics = ["looked_up", "looked_up_once", "no_refund"]
    _, scores = await run_scores(eval_client, [once, twice, never], metrics)
    _assert_check(scores[(once, "looked_up")], "true")
    _assert_check(scores[(never, "looked_up")], "false")
    assert scores[(never, "looked_up")]["reason"] == (
        "lookup_order was called 0 times, fewer than 1; called: 'search'"
    )
    _assert_check(scores[(once, "looked_up_once")], "true")
    _assert_check(scores[(twice, "looked_up_once")], "false")
    assert scores[(twice, "looked_up_once")]["reason"] == (
        "lookup_order was called 2 times, more than 1"
    )
    _assert_check(scores[(once, "no_refund")], "true")
    _assert_check(scores[(twice, "no_refund")], "false")


async def test_filter_run_and_mixed_with_a_builtin(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    await define(eval_client, "looked_up", "tool_called", {"tool": "lookup_order"})
    ids = [await post_trace(eval_client, tools=("lookup_order",)) for _ in range(3)]
    body = {"metrics": ["looked_up", "tool_correctness"], "filters": {"name": "support-agent"}}
    response = await eval_client.post("/evaluations/trace-runs", json=body)
    assert response.status_code == 202, response.text
    run = await wait_for_run(eval_client, response.json()["id"])
    assert run["status"] == "COMPLETED" and run["evaluated_count"] == 3
    scores = (await eval_client.get(f"/evaluations/trace-runs/{run['id']}/scores")).json()
    by_name: dict[str, list[dict[str, object]]] = {}
    for score in scores:
        by_name.setdefault(score["name"], []).append(score)
    assert {s["trace_id"] for s in by_name["looked_up"]} == set(ids)
    assert all(s["value"] == "true" for s in by_name["looked_up"])
    assert all(s["data_type"] == "NUMERIC" for s in by_name["tool_correctness"])
    assert all(s["model"] == "openai/gpt-4o-mini" for s in by_name["tool_correctness"])


async def test_redos_pattern_finishes_fast(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    """(a+)+$ backtracks exponentially in a backtracking engine; RE2 is linear."""
    await define(eval_client, "all_as", "regex", {"pattern": "(a+)+$"})
    evil = await post_trace(eval_client, output="a" * 50_000 + "b")
    started = time.monotonic()
    _, scores = await run_scores(eval_client, [evil], ["all_as"])
    assert time.monotonic() - started < 10  # the whole run, HTTP and polling included
    score = scores[(evil, "all_as")]
    assert score["status"] == "SUCCESS" and score["value"] == "false"
    assert score["reason"] == "output has no match for '(a+)+$'"


def test_redos_pattern_in_the_engine_is_linear() -> None:
    pattern = compile_pattern("(a+)+$")
    started = time.monotonic()
    for _ in range(20):
        assert pattern.search("a" * 50_000 + "b") is None
    assert time.monotonic() - started < 1.0
