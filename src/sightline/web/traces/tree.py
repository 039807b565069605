"""A trace's spans as the rows of its tree (depth-first, children by start time) with each
row's place on the timing waterfall. Presentation only: the spans are the service's."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sightline.traces.schemas import SpanRead

WATERFALL_WIDTH = 1000  # the SVG's viewBox width; bars are placed in these units


@dataclass(frozen=True, slots=True)
class SpanRow:
    span: SpanRead
    level: int  # 1 for roots (aria-level)
    has_children: bool
    x: int  # waterfall offset and width, in WATERFALL_WIDTH units
    width: int


def _ms(start: datetime, at: datetime) -> float:
    return (at - start).total_seconds() * 1000


def span_rows(spans: Sequence[SpanRead], trace_started: datetime) -> list[SpanRow]:
    ids = {s.span_id for s in spans}
    children: dict[uuid.UUID | None, list[SpanRead]] = {}
    for span in spans:  # a parent the trace does not hold makes a root
        parent = span.parent_span_id if span.parent_span_id in ids else None
        children.setdefault(parent, []).append(span)
    start = min([trace_started, *(s.started_at for s in spans)])
    end = max([start, *((s.ended_at or s.started_at) for s in spans)])
    total = max(_ms(start, end), 1e-6)
    rows: list[SpanRow] = []
    seen: set[uuid.UUID] = set()
    stack: list[tuple[SpanRead, int]] = [(s, 1) for s in reversed(children.get(None, []))]
    while stack:
        span, level = stack.pop()
        if span.span_id in seen:  # a cycle of parent ids: show each span once
            continue
        seen.add(span.span_id)
        kids = children.get(span.span_id, [])
        x = int(_ms(start, span.started_at) / total * WATERFALL_WIDTH)
        width = int(
            _ms(span.started_at, span.ended_at or span.started_at) / total * WATERFALL_WIDTH
        )
        rows.append(SpanRow(span, level, bool(kids), x, max(width, 2)))
        stack.extend((kid, level + 1) for kid in reversed(kids))
    for span in spans:  # spans only reachable through a cycle
        if span.span_id not in seen:
            rows.append(SpanRow(span, 1, False, 0, 2))
    return rows
