"""`sightline eval show`: money to 4 decimals and means to 3; --scores pages through the
run's per-trace scores (value, status, one-line reason); --failed lists only failed pairs."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.cli.conftest import EvalCli
from tests.evals.factories import create_traces, wait_for_run
from tests.evals.sessions.helpers import post_session

pytestmark = pytest.mark.slow

LONG_REASON = "The answer cites the order.\n\n" + "It hedges on the delivery date. " * 20


def _score_rows(output: str, target: str = r"[0-9a-f-]{36}") -> list[list[str]]:
    """The scores table's rows as cells (the one table whose rows start with a target ID)."""
    rows = []
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == 5 and re.fullmatch(target, cells[0]):
            rows.append(cells)
    return rows


async def _judged_run(cli: EvalCli) -> tuple[dict[str, Any], list[str], str]:
    """Two traces the judge scores, one too large for its context: 6 scores, 2 failed."""
    small = await create_traces(cli.api, 2, tool_calls=1, payload_chars=50)
    large = await create_traces(cli.api, 1, tool_calls=12, payload_chars=4000)
    cli.judge.context_limit_tokens = 2500
    cli.judge.answers["ConfidenceAnswer"] = {"confidence": 0.31372, "reason": LONG_REASON}
    body = {
        "trace_ids": small + large,
        "metrics": ["task_completion", "confidence"],
        "use_cache": False,
    }
    created = await cli.api.post("/evaluations/trace-runs/batch", json=body)
    assert created.status_code == 202, created.text
    run = await wait_for_run(cli.api, created.json()["id"])
    assert run["status"] == "COMPLETED" and run["failed_count"] == 2, run
    return run, small, large[0]


async def test_show_rounds_money_and_means(cli: EvalCli) -> None:
    run, _, _ = await _judged_run(cli)
    assert run["cost_usd"] > 0

    result = await cli("show", run["id"])

    assert result.code == 0, result
    cost_line = next(line for line in result.out.splitlines() if line.strip().startswith("cost_"))
    assert cost_line.split() == ["cost_usd", f"${run['cost_usd']:.4f}"], cost_line
    confidence = next(line for line in result.out.splitlines() if "│ confidence" in line)
    # 2 scored (both 0.31372, stored as 0.3137), 1 failed, none not applicable; mean, min and
    # max to 3 decimals
    assert confidence.replace("│", " ").split() == [
        "confidence", "2", "1", "0", "0.314", "0.314", "0.314"
    ]  # fmt: skip


async def test_show_scores_pages_through_the_runs_scores(cli: EvalCli) -> None:
    run, small, large = await _judged_run(cli)
    api_page = (
        await cli.api.get(
            "/evaluations/trace-scores", params={"eval_run_id": run["id"], "limit": 200}
        )
    ).json()
    assert api_page["total"] == 6

    first = await cli("show", run["id"], "--scores", "--limit", "4")
    second = await cli("show", run["id"], "--scores", "--limit", "4", "--offset", "4")

    assert first.code == 0 and second.code == 0, (str(first), str(second))
    assert "scores 1–4 of 6; next page: --offset 4" in first.out, first
    assert "scores 5–6 of 6" in second.out and "next page" not in second.out, second
    rows = _score_rows(first.out) + _score_rows(second.out)
    # Same pairs, same order as the API's page: nothing skipped or repeated across pages.
    assert [(r[0], r[1]) for r in rows] == [(s["trace_id"], s["name"]) for s in api_page["items"]]
    for row in rows:
        trace_id, metric, value, status, reason = row
        if trace_id == large:
            assert (value, status, reason) == ("-", "FAILED", "context_overflow"), row
        elif metric == "confidence":
            assert (value, status) == ("0.314", "SUCCESS"), row
            # one line, cut with an ellipsis, whitespace collapsed
            assert reason.startswith("The answer cites the order. It hedges on the delivery")
            assert reason.endswith("…") and len(reason) == 120, row
        else:
            assert (value, status) == ("0.800", "SUCCESS"), row
    assert {r[0] for r in rows} == {*small, large}


async def test_show_counts_not_applicable_apart_from_the_means(cli: EvalCli) -> None:
    """tool_correctness on traces without tools is stored SUCCESS with a null value: it is
    neither scored nor failed, and the mean is that of the one real score."""
    cli.judge.answers["ScoreAnswer"] = {"score": 0.25, "reason": "wrong tool"}
    with_tools = await create_traces(cli.api, 1, tool_calls=1)
    without = await create_traces(cli.api, 2, tool_calls=0)
    created = await cli.api.post(
        "/evaluations/trace-runs/batch",
        json={"trace_ids": with_tools + without, "metrics": ["tool_correctness"]},
    )
    run = await wait_for_run(cli.api, created.json()["id"])
    assert run["status"] == "COMPLETED" and run["failed_count"] == 0, run

    result = await cli("show", run["id"], "--scores")

    assert result.code == 0, result
    row = next(line for line in result.out.splitlines() if "│ tool_correctness │" in line)
    cells = row.replace("│", " ").split()
    assert cells[:7] == ["tool_correctness", "1", "0", "2", "0.250", "0.250", "0.250"], row
    rows = {r[0]: r for r in _score_rows(result.out)}
    assert rows[with_tools[0]][2:4] == ["0.250", "SUCCESS"]
    for trace_id in without:
        assert rows[trace_id][2:4] == ["n/a", "SUCCESS"]
        assert rows[trace_id][4].startswith("not_applicable: No tool calls")


async def test_show_failed_lists_only_the_failed_pairs(cli: EvalCli) -> None:
    run, _, large = await _judged_run(cli)

    result = await cli("show", run["id"], "--failed")

    assert result.code == 0, result
    rows = _score_rows(result.out)
    assert sorted(rows) == [
        [large, "confidence", "-", "FAILED", "context_overflow"],
        [large, "task_completion", "-", "FAILED", "context_overflow"],
    ], result.out
    assert "failed scores 1–2 of 2" in result.out


async def test_show_failed_on_a_clean_run_says_there_are_none(cli: EvalCli) -> None:
    trace_ids = await create_traces(cli.api, 1)
    created = await cli.api.post(
        "/evaluations/trace-runs/batch", json={"trace_ids": trace_ids, "metrics": ["confidence"]}
    )
    run = await wait_for_run(cli.api, created.json()["id"])
    result = await cli("show", run["id"], "--failed")
    assert result.code == 0, result
    assert "No failed scores (0 in this run)." in result.out
    assert _score_rows(result.out) == []


async def test_show_scores_of_a_session_run_lists_sessions(cli: EvalCli) -> None:
    session_id, _ = await post_session(cli.api, 2)
    created = await cli.api.post(
        "/evaluations/session-runs/batch",
        json={"session_ids": [session_id], "metrics": ["agent_reliability"]},
    )
    assert created.status_code == 202, created.text
    run = await wait_for_run(cli.api, created.json()["id"], kind="session")
    assert run["status"] == "COMPLETED", run
    stored = (await cli.api.get(f"/evaluations/session-runs/{run['id']}/scores")).json()

    result = await cli("show", run["id"], "--scores")

    assert result.code == 0, result
    assert "┃ session_id " in result.out and "target_type        SESSION" in result.out
    rows = _score_rows(result.out, target=re.escape(session_id))
    assert [(r[0], r[1], r[3]) for r in rows] == [(session_id, "agent_reliability", "SUCCESS")]
    assert rows[0][2] == f"{float(stored[0]['value']):.3f}"
    assert "scores 1–1 of 1" in result.out
