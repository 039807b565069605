"""`sightline eval show`: a run's status, counters, cost and per-metric results, and with
--scores (or --failed) one page of its per-target scores with their reasons."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from sightline.cli.eval.client import Api, ApiKeyOption, EndpointOption, ProjectOption, connect
from sightline.cli.eval.display import console, money, one_line, ratio, score_value
from sightline.kit.pagination import MAX_LIMIT
from sightline.kit.statuses import ScoreStatus

DETAILS = ("id", "name", "status", "target_type", "model", "metric_names", "total_targets",
           "evaluated_count", "failed_count", "sampling_rate", "judge_calls", "prompt_tokens",
           "completion_tokens", "cost_usd", "max_cost_usd", "created_at", "completed_at",
           "error_message")  # fmt: skip
MONEY = ("cost_usd", "max_cost_usd")
RATIOS = ("sampling_rate",)
STATUS_STYLE: dict[str, str] = {ScoreStatus.SUCCESS: "green", ScoreStatus.FAILED: "red"}


def show(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="The run's ID."),
    scores: bool = typer.Option(
        False, "--scores", help="Also list the run's scores: target, metric, value, reason."
    ),
    failed: bool = typer.Option(
        False, "--failed", help="List only the failed (target, metric) pairs (implies --scores)."
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=MAX_LIMIT, help="Scores per page."),
    offset: int = typer.Option(0, "--offset", min=0, help="Scores to skip (the next page)."),
    endpoint: str = EndpointOption,
    api_key: str = ApiKeyOption,
    project: str = ProjectOption,
) -> None:
    """Show a run (trace or session): status, counters, cost, per-metric results, scores."""
    with connect(ctx, endpoint, api_key, project) as api:
        # Run IDs are unique across kinds; a trace-run 404 means it is a session run (or none,
        # which the session-run request then reports).
        kind = "session" if api.status_of(f"/evaluations/trace-runs/{run_id}") == 404 else "trace"
        run = api.call("GET", f"/evaluations/{kind}-runs/{run_id}")
        all_scores = api.call("GET", f"/evaluations/{kind}-runs/{run_id}/scores")
        page = _score_page(api, kind, run_id, failed, limit, offset) if scores or failed else None
    console.print(_details(run))
    console.print(_metric_table(all_scores))
    if page is not None:
        _print_scores(page, kind, failed)


def _details(run: dict[str, Any]) -> Table:
    details = Table(show_header=False, box=None)
    for key in DETAILS:
        value = run.get(key)
        if value is None:
            continue
        if key in MONEY:
            shown = money(value)
        elif key in RATIOS:
            shown = ratio(value)
        elif isinstance(value, list):
            shown = ", ".join(str(v) for v in value)
        else:
            shown = str(value)
        details.add_row(key, escape(shown))
    return details


def _metric_table(scores: list[dict[str, Any]]) -> Table:
    """Per metric: scored (SUCCESS with a number), failed, n/a (SUCCESS without a value:
    the metric did not apply, README "What a score rests on") and the numbers' mean, min, max."""
    table = Table("metric", "scored", "failed", "n/a", "avg", "min", "max")
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for score in scores:
        by_metric.setdefault(score["name"], []).append(score)
    for metric in sorted(by_metric):
        successful = [s for s in by_metric[metric] if s["status"] == ScoreStatus.SUCCESS]
        values = [v for s in successful if (v := _number(s.get("value"))) is not None]
        not_applicable = sum(1 for s in successful if s.get("value") is None)
        failed = sum(1 for s in by_metric[metric] if s["status"] == ScoreStatus.FAILED)
        stats = (
            (ratio(sum(values) / len(values)), ratio(min(values)), ratio(max(values)))
            if values
            else ("-", "-", "-")
        )
        table.add_row(metric, str(len(values)), str(failed), str(not_applicable), *stats)
    return table


def _shown_value(score: dict[str, Any]) -> str:
    if score["value"] is None and score["status"] == ScoreStatus.SUCCESS:
        return "n/a"
    return score_value(score["value"])


def _number(value: Any) -> float | None:
    """A run's score as a number: a BOOLEAN one (a custom check) is 1 or 0, so its mean is
    the pass rate, as in the score analytics."""
    if value is None:
        return None
    if value in ("true", "false"):
        return 1.0 if value == "true" else 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return None  # a label (CATEGORICAL): not part of a mean


def _score_page(
    api: Api, kind: str, run_id: str, failed: bool, limit: int, offset: int
) -> dict[str, Any]:
    params: dict[str, Any] = {"eval_run_id": run_id, "limit": limit, "offset": offset}
    if failed:
        params["status"] = ScoreStatus.FAILED.value
    page: dict[str, Any] = api.call("GET", f"/evaluations/{kind}-scores", params=params)
    return page


def _print_scores(page: dict[str, Any], kind: str, failed: bool) -> None:
    what = "failed scores" if failed else "scores"
    items, total, offset = page["items"], int(page["total"]), int(page["offset"])
    if not items:
        where = f" at offset {offset}" if offset and total else ""
        console.print(f"No {what}{where} ({total} in this run).")
        return
    target = "trace_id" if kind == "trace" else "session_id"
    table = Table(target, "metric", "value", "status", "reason")
    for score in items:
        status = str(score["status"])
        style = STATUS_STYLE.get(status, "")
        table.add_row(
            escape(str(score[target])),
            escape(score["name"]),
            escape(_shown_value(score)),
            f"[{style}]{status}[/{style}]" if style else escape(status),
            escape(one_line(score["reason"])),
        )
    console.print(table)
    last = offset + len(items)
    more = f"; next page: --offset {last}" if last < total else ""
    console.print(f"{what} {offset + 1}–{last} of {total}{more}")
