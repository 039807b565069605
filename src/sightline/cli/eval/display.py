"""How `sightline eval` prints: the output and error consoles, money to 4 decimals, ratios
and means to 3, long reasons cut to one line."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
# Refusals and failures: on stderr, apart from output one may pipe, and never hard-wrapped,
# so a long message (every valid metric name) stays one line to read or grep.
errors = Console(stderr=True, soft_wrap=True)

REASON_CHARS = 120


def money(value: Any) -> str:
    """Dollars to 4 decimals ("$0.0003"): judge calls cost fractions of a cent, and the
    float sums of their costs carry noise digits (0.00031455000000000003)."""
    return f"${float(value or 0.0):.4f}"


def ratio(value: Any) -> str:
    return f"{float(value):.3f}"


def score_value(value: str | None) -> str:
    """A score's value as stored (a string): numbers to 3 decimals, labels unchanged."""
    if value is None:
        return "-"
    try:
        return ratio(value)
    except ValueError:
        return value


def one_line(text: str | None, limit: int = REASON_CHARS) -> str:
    """Whitespace collapsed and cut at ``limit`` characters with an ellipsis, so one score
    stays one row however long the judge's reason."""
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def refuse(message: str) -> NoReturn:
    """A usage error: the command was not started (exit code 2, as Click's own)."""
    errors.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(2)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
