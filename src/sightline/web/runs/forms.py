"""The new-run form: which traces (the checked IDs, or the trace list's filters with a
sampling rate), metrics, judge model, run name. Parsed from a query string (the form as
first shown, and its estimate) or from the posted form alike."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData, QueryParams

from sightline.web.traces.forms import TraceListQuery, parse_list_query

DEFAULT_METRICS = ("task_completion",)
MAX_IDS = 200  # a page of the trace list
FILTER_FIELDS = (
    "name",
    "status",
    "user_id",
    "session_id",
    "tags",
    "started_after",
    "started_before",
)


@dataclass
class RunForm:
    mode: str  # "ids" (the checked traces) or "filter" (every trace the filters match)
    trace_ids: list[uuid.UUID] = field(default_factory=list)
    selection: TraceListQuery = field(default_factory=TraceListQuery)
    sampling_rate: float = 1.0
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    model: str = ""
    name: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def selection_params(self) -> dict[str, Any]:
        params = self.selection.params()
        return {k: v for k, v in params.items() if k in FILTER_FIELDS}


def _text(values: QueryParams | FormData, key: str, limit: int) -> tuple[str, str | None]:
    raw = values.get(key)
    text = raw.strip() if isinstance(raw, str) else ""
    if "\x00" in text:
        return "", "must not contain NUL characters"
    if len(text) > limit:
        return text[:limit], f"must be at most {limit} characters"
    return text, None


def parse_run_form(values: QueryParams | FormData, *, submitted: bool) -> RunForm:
    """``submitted``: the metrics are what was checked (none checked is an error); a form
    shown for the first time preselects DEFAULT_METRICS."""
    mode = "filter" if values.get("mode") == "filter" else "ids"
    form = RunForm(mode=mode)
    if mode == "ids":
        raw_ids = [v for v in values.getlist("trace_id") if isinstance(v, str) and v.strip()]
        if len(raw_ids) > MAX_IDS:
            form.errors["trace_id"] = f"at most {MAX_IDS} traces at once; use Evaluate all matching"
        for raw in raw_ids[:MAX_IDS]:
            try:
                form.trace_ids.append(uuid.UUID(raw.strip()))
            except ValueError:
                form.errors["trace_id"] = f"not a trace ID: {raw[:40]!r}"
        form.trace_ids = list(dict.fromkeys(form.trace_ids))
        if not raw_ids:
            form.errors["trace_id"] = "Select at least one trace on the traces page."
    else:
        filters = QueryParams(
            [(k, v) for k, v in values.multi_items() if k in FILTER_FIELDS and isinstance(v, str)]
        )
        form.selection, selection_errors = parse_list_query(filters)
        form.errors.update(selection_errors)
        rate = values.get("sampling_rate")
        if isinstance(rate, str) and rate.strip():
            try:
                form.sampling_rate = float(rate)
            except ValueError:
                form.errors["sampling_rate"] = "must be a number"
            else:
                if not 0.0 < form.sampling_rate <= 1.0:
                    form.errors["sampling_rate"] = "must be greater than 0 and at most 1"
    metrics = [v.strip() for v in values.getlist("metrics") if isinstance(v, str) and v.strip()]
    if metrics or submitted or "metrics_shown" in values:
        form.metrics = list(dict.fromkeys(metrics))
    form.model, error = _text(values, "model", 255)
    if error:
        form.errors["model"] = error
    form.name, error = _text(values, "name", 255)
    if error:
        form.errors["name"] = error
    return form


def field_of(message: str) -> str:
    """Which field a service's 422 is about, to show it beside that field."""
    lowered = message.lower()
    if "metric" in lowered:
        return "metrics"
    if "sampl" in lowered:
        return "sampling_rate"
    if "trace" in lowered and ("not found" in lowered or "match" in lowered):
        return "trace_id"
    if any(word in lowered for word in ("model", "judge", "provider", "api key", "api_key")):
        return "model"
    return "form"
