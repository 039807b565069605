"""Custom-metric definitions over HTTP: create, list, read, edit (versions), delete, and a
422 naming the field and the reason for every bad definition."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.evals.metrics.helpers import METRICS, define, post_trace, run_scores, say

REGEX = {"field": "output", "pattern": "(?i)sorry|apolog", "must_match": False}
POLITE = {"criteria": "The agent is polite.", "score_type": "BOOLEAN", "sees": "input_output"}


async def test_the_issue_examples_round_trip(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    regex = await define(eval_client, "no_apology", "regex", REGEX, description="never apologises")
    assert regex == {
        "name": "no_apology", "description": "never apologises", "kind": "regex", "version": 1,
        "config": REGEX, "data_type": "BOOLEAN", "labels": None,
        "created_at": regex["created_at"], "versions": None,
    }  # fmt: skip
    polite = await define(eval_client, "polite", "llm_judge", POLITE)
    assert polite["data_type"] == "BOOLEAN" and polite["config"]["criteria"] == POLITE["criteria"]
    assert polite["config"]["evaluation_steps"] is None  # defaults are filled in
    graded = await define(
        eval_client, "tone", "llm_judge",
        {"criteria": "Tone", "score_type": "CATEGORICAL", "labels": ["warm", "neutral", "rude"]},
    )  # fmt: skip
    assert graded["data_type"] == "CATEGORICAL" and graded["labels"] == ["warm", "neutral", "rude"]

    listed = (await eval_client.get(METRICS)).json()
    assert listed["total"] == 3 and [m["name"] for m in listed["items"]] == [
        "no_apology", "polite", "tone"
    ]  # fmt: skip
    page = (await eval_client.get(METRICS, params={"limit": 1, "offset": 1})).json()
    assert [m["name"] for m in page["items"]] == ["polite"] and page["total"] == 3
    one = (await eval_client.get(f"{METRICS}/no_apology")).json()
    assert [v["version"] for v in one["versions"]] == [1]
    names = [m["name"] for m in (await eval_client.get("/evaluations/trace-metrics")).json()]
    assert names[-3:] == ["no_apology", "polite", "tone"] and "task_completion" in names


async def test_duplicate_name_is_409(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    await define(eval_client, "no_apology", "regex", REGEX)
    again = await eval_client.post(
        METRICS, json={"name": "no_apology", "kind": "contains", "config": {"phrases": ["x"]}}
    )
    assert again.status_code == 409
    assert again.json() == {"detail": "A metric named 'no_apology' already exists in this project."}


async def test_edit_makes_versions(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    await define(eval_client, "no_apology", "regex", REGEX)
    url = f"{METRICS}/no_apology"
    described = (await eval_client.patch(url, json={"description": "be confident"})).json()
    assert described["version"] == 1 and described["description"] == "be confident"
    same = (await eval_client.patch(url, json={"config": REGEX})).json()
    assert same["version"] == 1  # the definition did not change: no new version
    edited = await eval_client.patch(url, json={"config": {**REGEX, "pattern": "(?i)sorry"}})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    switched = await eval_client.patch(
        url, json={"kind": "contains", "config": {"phrases": ["sorry"], "mode": "none"}}
    )
    assert switched.json()["version"] == 3 and switched.json()["kind"] == "contains"
    history = (await eval_client.get(url)).json()["versions"]
    assert [(v["version"], v["kind"]) for v in history] == [
        (1, "regex"), (2, "regex"), (3, "contains")
    ]  # fmt: skip
    assert history[1]["config"]["pattern"] == "(?i)sorry"
    no_config = await eval_client.patch(url, json={"kind": "regex"})
    assert no_config.status_code == 422
    assert no_config.json()["errors"] == [
        {"field": "config", "message": "config is required when the kind changes"}
    ]
    assert (
        await eval_client.patch(f"{METRICS}/nope", json={"description": "x"})
    ).status_code == 404


async def test_delete_keeps_scores_and_the_name_can_return(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    await define(eval_client, "no_apology", "regex", REGEX)
    trace = await post_trace(eval_client, output=say("Sorry!"))
    _, scores = await run_scores(eval_client, [trace], ["no_apology"])
    assert scores[(trace, "no_apology")]["value"] == "false"

    assert (await eval_client.delete(f"{METRICS}/no_apology")).status_code == 204
    assert (await eval_client.get(f"{METRICS}/no_apology")).status_code == 404
    assert (await eval_client.delete(f"{METRICS}/no_apology")).status_code == 404
    assert (await eval_client.get(METRICS)).json()["total"] == 0
    kept = (await eval_client.get(f"/evaluations/trace-scores/{trace}")).json()
    assert [(s["name"], s["value"]) for s in kept] == [("no_apology", "false")]
    refused = await eval_client.post(
        "/evaluations/trace-runs/batch", json={"trace_ids": [trace], "metrics": ["no_apology"]}
    )
    assert refused.status_code == 422 and "Unknown metrics: no_apology" in refused.json()["detail"]

    again = await define(eval_client, "no_apology", "contains", {"phrases": ["sorry"]})
    assert again["version"] == 2  # a name's versions never repeat: old scores stay told apart
    assert [v["version"] for v in (await eval_client.get(f"{METRICS}/no_apology")).json()[
        "versions"
    ]] == [2]  # fmt: skip


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "invalid regex",
        {"kind": "regex", "config": {"pattern": "(unclosed"}},
        "config -> pattern",
        "invalid regular expression: missing ): (unclosed",
    ),
    (
        "backreference (not RE2)",
        {"kind": "regex", "config": {"pattern": r"(a)\1"}},
        "config -> pattern",
        "invalid regular expression: invalid escape sequence: \\1",
    ),
    (
        "invalid JSON Schema",
        {"kind": "json_schema", "config": {"schema": {"type": "strng"}}},
        "config -> schema",
        "invalid JSON Schema: 'strng' is not valid under any of the given schemas (at /type)",
    ),
    (
        "categorical without labels",
        {"kind": "llm_judge", "config": {"criteria": "Tone", "score_type": "CATEGORICAL"}},
        "config -> labels",
        "labels are required for a CATEGORICAL metric (at least two)",
    ),
    (
        "unknown kind",
        {"kind": "vibes", "config": {}},
        "kind",
        "Input should be 'llm_judge', 'regex', 'json_schema', 'contains', 'threshold' or "
        "'tool_called'",
    ),
    (
        "a built-in's name",
        {"name": "task_completion", "kind": "regex", "config": {"pattern": "x"}},
        "name",
        "'task_completion' is a built-in metric's name; choose another",
    ),
    (
        "a hidden built-in's name",
        {"name": "loop_detection", "kind": "regex", "config": {"pattern": "x"}},
        "name",
        "'loop_detection' is a built-in metric's name; choose another",
    ),
    (
        "a session metric's name",
        {"name": "agent_reliability", "kind": "regex", "config": {"pattern": "x"}},
        "name",
        "'agent_reliability' is a built-in metric's name; choose another",
    ),
    (
        "a name outside [a-z0-9_]",
        {"name": "No-Apology", "kind": "regex", "config": {"pattern": "x"}},
        "name",
        "String should match pattern '^[a-z0-9_]{1,64}$'",
    ),
    (
        "an unknown setting",
        {"kind": "regex", "config": {"pattern": "x", "flags": "i"}},
        "config -> flags",
        "Extra inputs are not permitted",
    ),
    (
        "a bad field",
        {"kind": "contains", "config": {"phrases": ["x"], "field": "span_kind:ROBOT"}},
        "config -> field",
        "must be 'output', 'input' or 'span_kind:<KIND>' with KIND one of AGENT, TOOL, LLM, "
        "RETRIEVER, CHAIN, EMBEDDING, OTHER; got 'span_kind:ROBOT'",
    ),
    (
        "a threshold without bounds",
        {"kind": "threshold", "config": {"measure": "latency_ms"}},
        "config",
        "give max, min or both",
    ),
    (
        "span_kinds missing",
        {"kind": "llm_judge", "config": {"criteria": "x", "sees": "span_kinds"}},
        "config -> span_kinds",
        "span_kinds is required when sees is 'span_kinds'",
    ),
    (
        "labels on a BOOLEAN judge",
        {
            "kind": "llm_judge",
            "config": {"criteria": "x", "score_type": "BOOLEAN", "labels": ["a", "b"]},
        },
        "config -> labels",
        "labels are only for a CATEGORICAL metric",
    ),
    (
        "a judge model no provider serves",
        {"kind": "llm_judge", "config": {"criteria": "x", "model": "mystery-model"}},
        "config -> model",
        "Cannot tell which provider serves the judge model 'mystery-model'. Use a LiteLLM "
        "model string with a provider prefix, e.g. 'openai/gpt-4o-mini' or 'ollama/llama3'.",
    ),
    (
        "tool times on called: false",
        {"kind": "tool_called", "config": {"tool": "x", "called": False, "max_times": 2}},
        "config",
        "min_times and max_times are only for called: true",
    ),
]


@pytest.mark.parametrize(("what", "body", "field", "reason"), BAD, ids=[b[0] for b in BAD])
async def test_bad_definitions_are_422_naming_field_and_reason(
    et: Tenant,
    eval_client: httpx.AsyncClient,
    what: str,
    body: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    response = await eval_client.post(METRICS, json={"name": "mine", **body})
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field], errors
    assert errors[0]["message"].removeprefix("Value error, ") == reason
    assert (await eval_client.get(METRICS)).json()["total"] == 0  # nothing was stored


async def test_a_bad_edit_is_422_and_keeps_the_version(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    await define(eval_client, "no_apology", "regex", REGEX)
    response = await eval_client.patch(
        f"{METRICS}/no_apology", json={"config": {"pattern": "a{2,1}"}}
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "config -> pattern"
    assert error["message"].startswith("Value error, invalid regular expression: ")
    assert (await eval_client.get(f"{METRICS}/no_apology")).json()["version"] == 1
