"""Rendering for the judge: once per trace, structure-preserving, within the prompt budget.

The budget is spent by priority (``slots``): the user's task, the final answer, every step's
header, every tool call's arguments, errors, then tool results and messages. A payload that
does not fit is cut in place with ``…[12,345 characters omitted]``; room a short payload does
not need goes to the others. If even the headers do not fit, the trace cannot be judged:
ContextOverflow (a FAILED score, never a silent skeleton).
"""

from __future__ import annotations

from dataclasses import dataclass

from sightline.engine.errors import ContextOverflow
from sightline.engine.judge.catalog import estimate_tokens
from sightline.engine.render.calls import render_available, render_calls
from sightline.engine.render.fit import DoesNotFit, fit
from sightline.engine.render.slots import cut, omission
from sightline.engine.render.trace import trace_items, tree
from sightline.engine.views import SpanView, TraceView

__all__ = [
    "DoesNotFit",
    "RenderedTrace",
    "clip",
    "omission",
    "render_available",
    "render_calls",
    "render_trace",
    "tree",
]


@dataclass(frozen=True, slots=True)
class RenderedTrace:
    text: str
    estimated_tokens: int
    cuts: int  # payloads shown in part or left out (0: the whole trace is there)


def render_trace(
    trace: TraceView,
    *,
    token_budget: int = 6000,
    spans: tuple[SpanView, ...] | None = None,
    input_output: bool = True,
) -> RenderedTrace:
    """``spans`` and ``input_output``: see ``trace.trace_items`` (default: the whole trace)."""
    items = trace_items(trace, token_budget * 4, spans=spans, input_output=input_output)
    try:
        text, cuts = fit(items, token_budget)
    except DoesNotFit as too_big:
        raise ContextOverflow(
            f"trace {trace.trace_id} needs ~{too_big.skeleton_tokens} tokens for its "
            f"{len(trace.spans)} step headers alone; the prompt budget is {token_budget}"
        ) from None
    return RenderedTrace(text, estimate_tokens(text), cuts)


def clip(text: str, limit: int) -> str:
    """A free text (an extracted task, a plan step) cut to ``limit`` characters, marked."""
    return cut(text, limit)
