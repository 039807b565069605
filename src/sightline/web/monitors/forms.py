"""The monitor form: what an HTML form sends, turned into the API's MonitorCreate /
MonitorUpdate, and the API's messages keyed by the form's field names.

Cadence comes as a choice (every_6h, daily, weekly, cron) plus a cron expression; filters as
one input per filter of the chosen target type (empty means "not set"; tags are
comma-separated; datetime-local values without an offset are read as UTC)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from sightline.db.models import EvalMonitor
from sightline.kit.statuses import TargetType
from sightline.monitors.cadence import CRON_PREFIX, PRESETS
from sightline.monitors.schemas import MonitorCreate, MonitorUpdate

CRON = "cron"
CADENCE_CHOICES = (
    ("every_6h", "Every 6 hours"),
    ("daily", "Daily"),
    ("weekly", "Weekly"),
    (CRON, "Custom (cron expression)"),
)
# (key, label, input type) per target type; the keys are the API's filter keys.
TRACE_FILTERS = (
    ("name", "Trace name contains", "text"),
    ("status", "Trace status", "status"),
    ("user_id", "User ID", "text"),
    ("session_id", "Session ID", "text"),
    ("tags", "Tags (any of, comma-separated)", "text"),
    ("date_from", "Traces started from (UTC)", "datetime-local"),
    ("date_to", "Traces started before (UTC)", "datetime-local"),
)
SESSION_FILTERS = (
    ("user_id", "User ID", "text"),
    ("tags", "Tags (any of, comma-separated)", "text"),
    ("has_error", "Has an error", "bool"),
    ("min_trace_count", "At least this many traces", "number"),
    ("date_from", "Traces started from (UTC)", "datetime-local"),
    ("date_to", "Traces started before (UTC)", "datetime-local"),
)
FILTERS = {TargetType.TRACE.value: TRACE_FILTERS, TargetType.SESSION.value: SESSION_FILTERS}
# The form's field for each of the API's top-level field names.
FORM_FIELDS = {"cadence": "cadence", "metrics": "metrics", "name": "name"}


def filter_field(target_type: str, key: str) -> str:
    """The form input of one filter (each target type has its own set)."""
    return f"{target_type.lower()}_{key}"


@dataclass
class MonitorForm:
    """The form's values as typed (strings), so a refused form shows them again."""

    name: str = ""
    target_type: str = TargetType.TRACE.value
    metrics: list[str] = field(default_factory=list)
    cadence_kind: str = "daily"
    cron: str = ""
    sampling_rate: str = "1"
    model: str = ""
    only_if_changed: bool = True
    only_unscored: bool = True
    max_cost_usd: str = ""
    filters: dict[str, str] = field(default_factory=dict)  # form field → value

    @classmethod
    def from_form(cls, form: FormData, target_type: str | None = None) -> MonitorForm:
        def text(key: str) -> str:
            value = form.get(key)
            return value.strip() if isinstance(value, str) else ""

        kind = target_type or text("target_type") or TargetType.TRACE.value
        filters = {
            filter_field(kind, key): text(filter_field(kind, key))
            for key, _label, _type in FILTERS.get(kind, ())
        }
        return cls(
            name=text("name"),
            target_type=kind,
            metrics=[m for m in form.getlist("metrics") if isinstance(m, str) and m],
            cadence_kind=text("cadence_kind") or "daily",
            cron=text("cron"),
            sampling_rate=text("sampling_rate"),
            model=text("model"),
            only_if_changed=form.get("only_if_changed") is not None,
            only_unscored=form.get("only_unscored") is not None,
            max_cost_usd=text("max_cost_usd"),
            filters=filters,
        )

    @classmethod
    def from_monitor(cls, monitor: EvalMonitor) -> MonitorForm:
        cadence = monitor.cadence
        is_cron = cadence.startswith(CRON_PREFIX)
        stored = monitor.filters or {}
        filters: dict[str, str] = {}
        for key, _label, kind in FILTERS.get(monitor.target_type, ()):
            value = stored.get(key)
            if value is None:
                continue
            if isinstance(value, list):
                shown = ",".join(str(v) for v in value)
            elif kind == "datetime-local":
                shown = str(value)[:19]
            elif isinstance(value, bool):
                shown = "true" if value else "false"
            else:
                shown = str(value)
            filters[filter_field(monitor.target_type, key)] = shown
        return cls(
            name=monitor.name,
            target_type=monitor.target_type,
            metrics=list(monitor.metric_names),
            cadence_kind=CRON if is_cron else cadence,
            cron=cadence[len(CRON_PREFIX) :] if is_cron else "",
            sampling_rate=f"{monitor.sampling_rate:g}",
            model=monitor.model or "",
            only_if_changed=monitor.only_if_changed,
            only_unscored=monitor.only_unscored,
            max_cost_usd=f"{monitor.max_cost_usd:g}" if monitor.max_cost_usd else "",
            filters=filters,
        )

    @property
    def cadence(self) -> str:
        if self.cadence_kind == CRON or self.cadence_kind not in PRESETS:
            return CRON_PREFIX + self.cron
        return self.cadence_kind

    def filter_values(self) -> dict[str, Any]:
        """The filters as the API takes them (only those set)."""
        values: dict[str, Any] = {}
        for key, _label, kind in FILTERS.get(self.target_type, ()):
            raw = self.filters.get(filter_field(self.target_type, key), "")
            if not raw:
                continue
            if key == "tags":
                values[key] = [t.strip() for t in raw.split(",") if t.strip()]
            elif kind == "bool":
                values[key] = raw == "true"
            elif kind == "number":
                values[key] = int(raw) if raw.isdigit() else raw
            elif kind == "datetime-local" and _naive(raw):
                values[key] = raw + "+00:00"
            else:
                values[key] = raw
        return values

    def body(self) -> dict[str, Any]:
        """The request body the API would get (sampling and cost as typed)."""
        return {
            "name": self.name,
            "target_type": self.target_type,
            "metrics": self.metrics,
            "filters": self.filter_values(),
            "sampling_rate": self.sampling_rate or "1",
            "model": self.model or None,
            "cadence": self.cadence,
            "only_if_changed": self.only_if_changed,
            "only_unscored": self.only_unscored,
            "max_cost_usd": self.max_cost_usd or None,
        }

    def form_key(self, api_field: str) -> str:
        """The form field an API field name (``filters -> date_to``) belongs to."""
        if api_field.startswith("filters -> "):
            key = api_field.removeprefix("filters -> ").split(" -> ")[0]
            return filter_field(self.target_type, key)
        return FORM_FIELDS.get(api_field, api_field.split(" -> ")[0])


def _naive(value: str) -> bool:
    tail = value[10:]
    return "T" in value and "+" not in tail and "-" not in tail and not value.endswith("Z")


def schema_errors(form: MonitorForm, error: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for item in error.errors():
        loc = " -> ".join(str(p) for p in item["loc"])
        errors.setdefault(form.form_key(loc) if loc else "", item["msg"])
    return errors


def parse_create(form: MonitorForm) -> tuple[MonitorCreate | None, dict[str, str]]:
    try:
        return MonitorCreate.model_validate(form.body()), {}
    except ValidationError as exc:
        return None, schema_errors(form, exc)


def parse_update(form: MonitorForm) -> tuple[MonitorUpdate | None, dict[str, str]]:
    """Every field of the form is sent: the edit replaces the monitor's settings (its
    signal weights, which the form does not show, are kept by the service)."""
    body = form.body()
    body.pop("target_type")
    try:
        return MonitorUpdate.model_validate(body), {}
    except ValidationError as exc:
        return None, schema_errors(form, exc)
