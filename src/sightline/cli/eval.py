"""`sightline eval run|show`: start and watch evaluation runs through the HTTP API."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from sightline.kit.statuses import RunStatus, ScoreStatus

eval_app = typer.Typer(help="Run and inspect evaluations (through the HTTP API).")
console = Console()

TERMINAL = (RunStatus.COMPLETED, RunStatus.FAILED)
_LIST_FILTERS = ("tags",)

EndpointOption = typer.Option(
    "http://127.0.0.1:8000", "--endpoint", envvar="SIGHTLINE_ENDPOINT", help="Server URL."
)
ApiKeyOption = typer.Option(..., "--api-key", envvar="PANDAPROBE_API_KEY", help="API key.")
ProjectOption = typer.Option(
    ..., "--project", envvar="PANDAPROBE_PROJECT_NAME", help="Project name."
)


def _client(endpoint: str, api_key: str, project: str) -> httpx.Client:
    return httpx.Client(
        base_url=endpoint.rstrip("/"),
        headers={"X-API-Key": api_key, "X-Project-Name": project},
        timeout=30.0,
    )


def _call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        console.print(f"[red]error:[/red] cannot reach {client.base_url}: {exc}")
        raise typer.Exit(2) from None
    if response.status_code >= 400:
        console.print(f"[red]error {response.status_code}:[/red] {_detail(response)}")
        raise typer.Exit(1)
    return response.json() if response.content else None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        return "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)


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


@eval_app.command("run")
def run(
    metrics: str = typer.Option(..., "--metrics", help="Comma-separated metric names."),
    trace_ids: list[str] = typer.Option([], "--trace-id", help="A trace to evaluate (repeat)."),
    filters: list[str] = typer.Option([], "--filter", help="key=value trace filter (repeat)."),
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
    """Start a trace evaluation run over explicit traces or a filter."""
    if trace_ids and (filters or sampling_rate != 1.0):
        raise typer.BadParameter("use --trace-id or --filter/--sampling-rate, not both")
    body: dict[str, Any] = {
        "metrics": [m.strip() for m in metrics.split(",") if m.strip()],
        "use_cache": not no_cache,
    }
    for key, value in (("model", model), ("name", name), ("max_cost_usd", max_cost_usd)):
        if value is not None:
            body[key] = value
    with _client(endpoint, api_key, project) as client:
        if trace_ids:
            created = _call(
                client,
                "POST",
                "/evaluations/trace-runs/batch",
                json={**body, "trace_ids": trace_ids},
            )
        else:
            body.update(filters=parse_filters(filters), sampling_rate=sampling_rate)
            created = _call(client, "POST", "/evaluations/trace-runs", json=body)
        console.print(
            f"run [bold]{created['id']}[/bold]: {created['total_targets']} traces × "
            f"{len(created['metric_names'])} metrics ({created['model']})"
        )
        if not wait:
            return
        final = _follow(client, created)
    _print_outcome(final)
    if final["status"] == RunStatus.FAILED:
        raise typer.Exit(1)


def _follow(client: httpx.Client, run: dict[str, Any]) -> dict[str, Any]:
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
            run = _call(client, "GET", f"/evaluations/trace-runs/{run['id']}")


def _print_outcome(run: dict[str, Any]) -> None:
    colour = "green" if run["status"] == RunStatus.COMPLETED else "red"
    console.print(
        f"[{colour}]{run['status']}[/{colour}]: {run['evaluated_count']}/{run['total_targets']} "
        f"traces, {run['failed_count']} failed pairs, {run.get('judge_calls', 0)} judge calls, "
        f"{run.get('prompt_tokens', 0)}+{run.get('completion_tokens', 0)} tokens, "
        f"${run.get('cost_usd', 0.0):.4f}"
    )
    if run.get("error_message"):
        console.print(f"[red]{run['error_message']}[/red]")


@eval_app.command("show")
def show(
    run_id: str = typer.Argument(..., help="The run's ID."),
    endpoint: str = EndpointOption,
    api_key: str = ApiKeyOption,
    project: str = ProjectOption,
) -> None:
    """Show a run (trace or session): status, counters, cost, and per-metric results."""
    with _client(endpoint, api_key, project) as client:
        kind = "trace"
        with contextlib.suppress(httpx.HTTPError):
            if client.get(f"/evaluations/trace-runs/{run_id}").status_code == 404:
                kind = "session"
        run = _call(client, "GET", f"/evaluations/{kind}-runs/{run_id}")
        scores = _call(client, "GET", f"/evaluations/{kind}-runs/{run_id}/scores")
    details = Table(show_header=False, box=None)
    for key in ("id", "name", "status", "model", "total_targets", "evaluated_count",
                "failed_count", "judge_calls", "prompt_tokens", "completion_tokens",
                "cost_usd", "created_at", "completed_at", "error_message"):  # fmt: skip
        if run.get(key) is not None:
            details.add_row(key, str(run[key]))
    console.print(details)
    console.print(_metric_table(scores))


def _metric_table(scores: list[dict[str, Any]]) -> Table:
    table = Table("metric", "scored", "failed", "avg", "min", "max")
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for score in scores:
        by_metric.setdefault(score["name"], []).append(score)
    for metric in sorted(by_metric):
        values = [
            float(s["value"]) for s in by_metric[metric] if s["status"] == ScoreStatus.SUCCESS
        ]
        failed = sum(1 for s in by_metric[metric] if s["status"] == ScoreStatus.FAILED)
        stats = (
            (f"{sum(values) / len(values):.3f}", f"{min(values):.3f}", f"{max(values):.3f}")
            if values
            else ("-", "-", "-")
        )
        table.add_row(metric, str(len(values)), str(failed), *stats)
    return table
