"""The session list's query string, parsed with the limits of GET /sessions, from what an
HTML form sends (empty fields are "not set", tags comma-separated, datetime-local values
without an offset read as UTC)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import QueryParams

from sightline.kit.pagination import MAX_OFFSET
from sightline.kit.types import CleanStr, Timestamp
from sightline.traces import filters as f
from sightline.traces.validation import MAX_SHORT_CHARS, MAX_TAGS
from sightline.web.traces.forms import form_values

PAGE_SIZE = 50
Short = Annotated[CleanStr, Field(max_length=MAX_SHORT_CHARS)]


class SessionListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    query: Short | None = None
    user_id: Short | None = None
    has_error: bool | None = None
    tags: Annotated[list[Short], Field(max_length=MAX_TAGS)] = []
    started_after: Timestamp | None = None  # naive is UTC, as in the API
    started_before: Timestamp | None = None
    sort_by: f.SessionSortBy = f.SessionSortBy.recent
    sort_order: f.SortOrder = f.SortOrder.desc
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0

    def filters(self) -> f.SessionFilters:
        return f.SessionFilters(
            self.user_id,
            self.has_error,
            self.started_after,
            self.started_before,
            list(self.tags),
            self.query,
        )

    def params(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "query": self.query,
            "user_id": self.user_id,
            "has_error": None if self.has_error is None else str(self.has_error).lower(),
            "tags": ",".join(self.tags) or None,
            "started_after": _local(self.started_after),
            "started_before": _local(self.started_before),
            "sort_by": self.sort_by.value,
            "sort_order": self.sort_order.value,
        }
        return {k: v for k, v in values.items() if v is not None}

    @property
    def filtered(self) -> bool:
        return any(
            v is not None and v != []
            for v in (self.query, self.user_id, self.has_error, self.tags,
                      self.started_after, self.started_before)
        )  # fmt: skip


def _local(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if value else None


def parse_list_query(params: QueryParams) -> tuple[SessionListQuery, dict[str, str]]:
    """The query, or (when some field is invalid) the rest of it and a message per field."""
    values = form_values(params)
    try:
        return SessionListQuery.model_validate(values), {}
    except ValidationError as exc:
        errors = {str(e["loc"][0]) if e["loc"] else "": e["msg"] for e in exc.errors()}
        kept = {k: v for k, v in values.items() if k not in errors}
        try:
            return SessionListQuery.model_validate(kept), errors
        except ValidationError:
            return SessionListQuery(), errors
