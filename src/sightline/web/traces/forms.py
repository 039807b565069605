"""The trace list's query string, parsed with the limits of GET /traces, from what an HTML
form sends: empty fields mean "not set", tags come comma-separated (or repeated), and
datetime-local values without an offset are read as UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import QueryParams

from sightline.kit.pagination import MAX_LIMIT, MAX_OFFSET
from sightline.kit.statuses import TraceStatus
from sightline.kit.types import CleanStr, Timestamp
from sightline.traces import filters as f
from sightline.traces.validation import MAX_NAME_CHARS, MAX_SHORT_CHARS, MAX_TAGS

PAGE_SIZE = 50
Short = Annotated[CleanStr, Field(max_length=MAX_SHORT_CHARS)]


class TraceListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Annotated[CleanStr, Field(max_length=MAX_NAME_CHARS)] | None = None
    status: TraceStatus | None = None
    user_id: Short | None = None
    session_id: Short | None = None
    tags: Annotated[list[Short], Field(max_length=MAX_TAGS)] = []
    started_after: Timestamp | None = None  # naive is UTC, as in the API
    started_before: Timestamp | None = None
    sort_by: f.TraceSortBy = f.TraceSortBy.started_at
    sort_order: f.SortOrder = f.SortOrder.desc
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = PAGE_SIZE
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0

    def filters(self) -> f.TraceFilters:
        return f.TraceFilters(
            self.session_id,
            self.status,
            self.user_id,
            list(self.tags),
            self.name,
            self.started_after,
            self.started_before,
        )

    def run_filters(self) -> dict[str, Any]:
        """The same selection as an evaluation run's filters (EvalRunFilters' keys)."""
        values = {
            "date_from": self.started_after,
            "date_to": self.started_before,
            "status": self.status,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "tags": list(self.tags) or None,
            "name": self.name,
        }
        return {k: v for k, v in values.items() if v is not None}

    def params(self) -> dict[str, Any]:
        """The query string's values (for links that keep the filters)."""
        values: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "user_id": self.user_id,
            "session_id": self.session_id,
            "tags": ",".join(self.tags) or None,
            "started_after": _local(self.started_after),
            "started_before": _local(self.started_before),
            "sort_by": self.sort_by.value,
            "sort_order": self.sort_order.value,
        }
        if self.limit != PAGE_SIZE:
            values["limit"] = self.limit
        return {k: v for k, v in values.items() if v is not None}

    @property
    def filtered(self) -> bool:
        return bool(self.run_filters())


def _local(value: datetime | None) -> str | None:
    """As a datetime-local input shows it (UTC, to the second)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if value else None


def form_values(params: QueryParams) -> dict[str, Any]:
    values: dict[str, Any] = {}
    tags: list[str] = []
    for key, raw in params.multi_items():
        value = raw.strip()
        if not value:
            continue
        if key == "tags":
            tags.extend(t.strip() for t in value.split(",") if t.strip())
        else:
            values[key] = value
    if tags:
        values["tags"] = tags
    return values


def parse_list_query(params: QueryParams) -> tuple[TraceListQuery, dict[str, str]]:
    """The query, or (when some field is invalid) the defaults and a message per field."""
    values = form_values(params)
    try:
        return TraceListQuery.model_validate(values), {}
    except ValidationError as exc:
        errors = {str(e["loc"][0]) if e["loc"] else "": e["msg"] for e in exc.errors()}
        kept = {k: v for k, v in values.items() if k not in errors}
        try:
            return TraceListQuery.model_validate(kept), errors
        except ValidationError:
            return TraceListQuery(), errors
