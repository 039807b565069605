"""`sightline eval run` refuses to judge every trace unless --all says so, and with --all
says how many (trace, metric) pairs it will judge before the run starts; an unknown metric
is answered with the closest valid name."""

from __future__ import annotations

import pytest

from tests.cli.conftest import EvalCli
from tests.evals.factories import create_traces, wait_for_run

pytestmark = pytest.mark.slow


async def _run_count(cli: EvalCli) -> int:
    total: int = (await cli.api.get("/evaluations/trace-runs")).json()["total"]
    return total


async def test_no_selection_is_refused_before_anything_is_asked_of_the_server(
    cli: EvalCli,
) -> None:
    await create_traces(cli.api, 2)

    refused = await cli("run", "--metrics", "task_completion")

    assert refused.code == 2, refused
    message = " ".join(refused.err.split())
    for flag in ("--trace-id", "--filter", "--all"):
        assert flag in message, refused
    assert "every trace of the project" in message
    both = await cli("run", "--metrics", "task_completion", "--all", "--filter", "name=x")
    assert both.code == 2 and "drop --trace-id and --filter" in both.err, both
    assert await _run_count(cli) == 0


async def test_all_says_how_many_pairs_it_will_judge_then_runs_them(cli: EvalCli) -> None:
    trace_ids = await create_traces(cli.api, 3)

    result = await cli("run", "--metrics", "task_completion,confidence", "--all", "--wait")

    assert result.code == 0, result
    announced = (
        f"--all: evaluating all 3 traces of project '{cli.project}' × 2 metrics = "
        "6 (trace, metric) pairs to judge."
    )
    assert announced in result.out, result
    run_id = result.out.split("run ", 1)[1].split(":", 1)[0].strip()
    assert result.out.index(announced) < result.out.index(f"run {run_id}: 3 traces × 2 metrics")
    assert "COMPLETED" in result.out
    run = await wait_for_run(cli.api, run_id)
    assert run["total_targets"] == 3 and run["evaluated_count"] == 3
    scores = (await cli.api.get(f"/evaluations/trace-runs/{run_id}/scores")).json()
    assert sorted(s["trace_id"] for s in scores) == sorted(trace_ids * 2)


async def test_all_with_sampling_announces_the_expected_share(cli: EvalCli) -> None:
    await create_traces(cli.api, 10)
    result = await cli("run", "--metrics", "confidence", "--all", "--sampling-rate", "0.5")
    assert (
        f"--all: evaluating about 5 of the 10 traces of project '{cli.project}' "
        "(sampling rate 0.5) × 1 metric ≈ 5 (trace, metric) pairs to judge."
    ) in result.out, result


async def test_all_on_an_empty_project_stops_without_a_run(cli: EvalCli) -> None:
    result = await cli("run", "--metrics", "confidence", "--all")
    assert result.code == 1, result
    assert f"project '{cli.project}' has no traces; nothing to evaluate." in result.err
    assert await _run_count(cli) == 0


async def test_unknown_metric_is_answered_with_the_closest_name(cli: EvalCli) -> None:
    trace_ids = await create_traces(cli.api, 1)
    result = await cli("run", "--metrics", "task_compleshun", "--trace-id", trace_ids[0])
    assert result.code == 1, result
    assert (
        "error 422: Unknown metrics: task_compleshun (did you mean task_completion?). "
        "Valid metrics: argument_correctness, coherence, confidence, "
    ) in result.err, result
    assert await _run_count(cli) == 0
