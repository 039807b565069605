"""`sightline eval run|show|metrics`: start, watch and inspect evaluations through the HTTP
API of a running server (`client` says which server, and where that choice came from)."""

from __future__ import annotations

import typer

from sightline.cli.eval.metrics import metrics
from sightline.cli.eval.run import run
from sightline.cli.eval.show import show

eval_app = typer.Typer(help="Run and inspect evaluations (through the HTTP API).")
eval_app.command("run")(run)
eval_app.command("show")(show)
eval_app.command("metrics")(metrics)

__all__ = ["eval_app"]
