"""`sightline eval metrics`: the trace and session metrics the server offers, as it lists
them (so the table matches what that server's runs accept, whatever its version)."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from sightline.cli.eval.client import ApiKeyOption, EndpointOption, ProjectOption, connect
from sightline.cli.eval.display import console

KINDS = (("trace", "/evaluations/trace-metrics"), ("session", "/evaluations/session-metrics"))


def metrics(
    ctx: typer.Context,
    endpoint: str = EndpointOption,
    api_key: str = ApiKeyOption,
    project: str = ProjectOption,
) -> None:
    """List the metrics a run can use, with their descriptions."""
    with connect(ctx, endpoint, api_key, project) as api:
        listed = [(kind, api.call("GET", path)) for kind, path in KINDS]
    table = Table(
        "metric",
        "for",
        "description",
        title="Metrics",
        caption="trace metrics: sightline eval run --metrics a,b; "
        "session metrics: POST /evaluations/session-runs",
    )
    for kind, items in listed:
        for item in sorted(items, key=lambda m: str(m["name"])):
            table.add_row(escape(item["name"]), kind, escape(item.get("description") or ""))
    console.print(table)
