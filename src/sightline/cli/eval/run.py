"""`sightline eval run`: start a trace run over explicit traces, a filter or (only when asked
for with --all) every trace of the project, and optionally follow it to the end."""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from sightline.cli.eval.client import Api, ApiKeyOption, EndpointOption, ProjectOption, connect
from sightline.cli.eval.display import console, errors, money, plural, refuse
from sightline.kit.statuses import RunStatus

TERMINAL = (RunStatus.COMPLETED, RunStatus.FAILED)
_LIST_FILTERS = ("tags",)

NO_SELECTION = (
    "Choose the traces to evaluate: pass --trace-id (repeat) or --filter key=value, or --all "
    "to evaluate every trace of the project (each trace is judged once per metric)."
)


def parse_filters(pairs: list[str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected key=value, got {pair!r}", param_hint="--filter")
        filters[key.strip()] = (
            [v.strip() for v in value.split(",") if v.strip()] if key in _LIST_FILTERS else value
        )
    return filters


def run(
    ctx: typer.Context,
    metrics: str = typer.Option(..., "--metrics", help="Comma-separated metric names."),
    trace_ids: list[str] = typer.Option([], "--trace-id", help="A trace to evaluate (repeat)."),
    filters: list[str] = typer.Option([], "--filter", help="key=value trace filter (repeat)."),
    all_traces: bool = typer.Option(
        False, "--all", help="Evaluate every trace of the project (no --trace-id or --filter)."
    ),
    sampling_rate: float = typer.Option(1.0, "--sampling-rate", help="Fraction of traces."),
    model: str | None = typer.Option(None, "--model", help="Judge model (LiteLLM string)."),
    name: str | None = typer.Option(None, "--name", help="A name for the run."),
    max_cost_usd: float | None = typer.Option(None, "--max-cost-usd", help="Cost cap."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the judge cache."),
    wait: bool = typer.Option(False, "--wait", help="Follow progress until the run ends."),
    endpoint: str = EndpointOption,
    api_key: str = ApiKeyOption,
    project: str = ProjectOption,
) -> None:
    """Start a trace evaluation run over explicit traces, a filter, or --all traces."""
    if trace_ids and (filters or sampling_rate != 1.0):
        raise typer.BadParameter("use --trace-id or --filter/--sampling-rate, not both")
    if all_traces and (trace_ids or filters):
        refuse("--all evaluates every trace; drop --trace-id and --filter.")
    # Every trace × every metric is what an empty filter means to the API; with a paid judge
    # that is too expensive to be what a forgotten flag does.
    if not (trace_ids or filters or all_traces):
        refuse(NO_SELECTION)
    names = list(dict.fromkeys(m.strip() for m in metrics.split(",") if m.strip()))
    body: dict[str, Any] = {"metrics": names, "use_cache": not no_cache}
    for key, value in (("model", model), ("name", name), ("max_cost_usd", max_cost_usd)):
        if value is not None:
            body[key] = value
    with connect(ctx, endpoint, api_key, project) as api:
        if trace_ids:
            created = api.call(
                "POST", "/evaluations/trace-runs/batch", json={**body, "trace_ids": trace_ids}
            )
        else:
            if all_traces:
                _announce_all(api, len(names), sampling_rate)
            body.update(filters=parse_filters(filters), sampling_rate=sampling_rate)
            created = api.call("POST", "/evaluations/trace-runs", json=body)
        console.print(
            f"run [bold]{created['id']}[/bold]: {created['total_targets']} traces × "
            f"{len(created['metric_names'])} metrics ({escape(str(created['model']))})"
        )
        if not wait:
            return
        final = _follow(api, created)
    _print_outcome(final)
    if final["status"] == RunStatus.FAILED:
        raise typer.Exit(1)


def _announce_all(api: Api, metric_count: int, sampling_rate: float) -> None:
    """Say how much --all will judge before the run exists (the count is one cheap page)."""
    total = int(api.call("GET", "/traces", params={"limit": 1})["total"])
    where = f"project '{escape(api.project)}'"
    if total == 0:
        errors.print(f"--all: {where} has no traces; nothing to evaluate.")
        raise typer.Exit(1)
    metrics = plural(metric_count, "metric")
    if sampling_rate >= 1.0:
        console.print(
            f"--all: evaluating all {plural(total, 'trace')} of {where} × {metrics} = "
            f"{plural(total * metric_count, '(trace, metric) pair')} to judge."
        )
        return
    sampled = max(1, round(total * sampling_rate))
    console.print(
        f"--all: evaluating about {sampled} of the {plural(total, 'trace')} of {where} "
        f"(sampling rate {sampling_rate:g}) × {metrics} ≈ "
        f"{plural(sampled * metric_count, '(trace, metric) pair')} to judge."
    )


def _follow(api: Api, run: dict[str, Any]) -> dict[str, Any]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} evaluated"),
        TextColumn("[red]{task.fields[failed]} failed"),
        TextColumn("${task.fields[cost]:.4f}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task(run["status"], total=run["total_targets"], failed=0, cost=0.0)
        while True:
            progress.update(
                bar,
                description=run["status"],
                completed=run["evaluated_count"],
                failed=run["failed_count"],
                cost=run.get("cost_usd", 0.0),
            )
            if run["status"] in TERMINAL:
                return run
            time.sleep(0.5)
            run = api.call("GET", f"/evaluations/trace-runs/{run['id']}")


def _print_outcome(run: dict[str, Any]) -> None:
    colour = "green" if run["status"] == RunStatus.COMPLETED else "red"
    console.print(
        f"[{colour}]{run['status']}[/{colour}]: {run['evaluated_count']}/{run['total_targets']} "
        f"traces, {run['failed_count']} failed pairs, {run.get('judge_calls', 0)} judge calls, "
        f"{run.get('prompt_tokens', 0)}+{run.get('completion_tokens', 0)} tokens, "
        f"{money(run.get('cost_usd'))}"
    )
    if run.get("error_message"):
        console.print(f"[red]{escape(run['error_message'])}[/red]")
