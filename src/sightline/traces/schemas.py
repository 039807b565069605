"""Request and response models of traces and spans (PandaProbe's wire shapes)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sightline.kit.statuses import SpanStatus, TraceStatus
from sightline.kit.types import CleanStr, Name255, Timestamp
from sightline.traces.validation import (
    MAX_IDS_PER_REQUEST,
    MAX_SPANS_PER_REQUEST,
    MAX_TAGS,
    Cost,
    Instant,
    JsonObject,
    JsonValue,
    Name,
    ShortStr,
    Tag,
    Tags,
    TokenUsage,
)


class SpanKind(StrEnum):
    AGENT = "AGENT"
    TOOL = "TOOL"
    LLM = "LLM"
    RETRIEVER = "RETRIEVER"
    CHAIN = "CHAIN"
    EMBEDDING = "EMBEDDING"
    OTHER = "OTHER"


SessionId = Name255
# Where a span's cost came from: sent by the client, or derived from the model price map
# (traces/ingest/pricing.py) because the span had a model and token counts but no cost.
CostSource = Literal["client", "price_map"]


class SpanCreate(BaseModel):
    model_config = ConfigDict(use_enum_values=True)

    span_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    parent_span_id: uuid.UUID | None = None
    name: Name
    kind: SpanKind = SpanKind.OTHER
    status: SpanStatus = SpanStatus.UNSET
    input: JsonValue = None
    output: JsonValue = None
    model: ShortStr | None = None
    token_usage: TokenUsage | None = None
    metadata: JsonObject | None = None
    started_at: Instant
    ended_at: Instant | None = None
    error: CleanStr | None = None
    completion_start_time: Instant | None = None
    model_parameters: JsonObject | None = None
    cost: Cost | None = None

    @field_validator("ended_at")
    @classmethod
    def _ends_after_start(cls, ended_at: Any, info: ValidationInfo) -> Any:
        return not_before_start(ended_at, info.data.get("started_at"))


def not_before_start(ended_at: Any, started_at: Any) -> Any:
    """A negative duration is refused: it would show as negative latency in analytics."""
    if ended_at is not None and started_at is not None and ended_at < started_at:
        raise ValueError(
            f"must not be before started_at ({ended_at.isoformat()} < {started_at.isoformat()})"
        )
    return ended_at


def _unique_span_ids(spans: list[SpanCreate]) -> None:
    seen: set[uuid.UUID] = set()
    for span in spans:
        if span.span_id in seen:
            raise ValueError(f"span_id {span.span_id} appears more than once")
        seen.add(span.span_id)


SpanList = Annotated[list[SpanCreate], Field(max_length=MAX_SPANS_PER_REQUEST)]


class TraceCreate(BaseModel):
    model_config = ConfigDict(use_enum_values=True)

    trace_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    name: Name
    status: TraceStatus = TraceStatus.COMPLETED
    input: JsonValue = None
    output: JsonValue = None
    metadata: JsonObject | None = None
    started_at: Instant
    ended_at: Instant | None = None
    session_id: SessionId | None = None
    user_id: ShortStr | None = None
    tags: Tags | None = None
    environment: ShortStr | None = None
    release: ShortStr | None = None
    spans: SpanList = []

    @field_validator("ended_at")
    @classmethod
    def _ends_after_start(cls, ended_at: Any, info: ValidationInfo) -> Any:
        return not_before_start(ended_at, info.data.get("started_at"))

    @model_validator(mode="after")
    def _spans_are_unique(self) -> TraceCreate:
        _unique_span_ids(self.spans)
        return self


class SpanBatch(RootModel[Annotated[SpanList, Field(min_length=1)]]):
    """The bare JSON array of POST /traces/{trace_id}/spans."""

    @model_validator(mode="after")
    def _spans_are_unique(self) -> SpanBatch:
        _unique_span_ids(self.root)
        return self


class TraceUpdate(BaseModel):
    """PATCH body: only fields present in the JSON are touched (see service.patch_trace)."""

    model_config = ConfigDict(use_enum_values=True)

    name: Name | None = None
    status: TraceStatus | None = None
    input: JsonValue = None
    output: JsonValue = None
    metadata: JsonObject | None = None
    ended_at: Instant | None = None
    session_id: SessionId | None = None
    user_id: ShortStr | None = None
    tags: Tags | None = None
    environment: ShortStr | None = None
    release: ShortStr | None = None


class SpanUpdate(BaseModel):
    model_config = ConfigDict(use_enum_values=True)

    name: Name | None = None
    kind: SpanKind | None = None
    status: SpanStatus | None = None
    input: JsonValue = None
    output: JsonValue = None
    model: ShortStr | None = None
    token_usage: TokenUsage | None = None
    metadata: JsonObject | None = None
    ended_at: Instant | None = None
    error: CleanStr | None = None
    completion_start_time: Instant | None = None
    model_parameters: JsonObject | None = None
    cost: Cost | None = None


TraceIdList = Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_IDS_PER_REQUEST)]


class TraceIds(BaseModel):
    trace_ids: TraceIdList


class TraceTagsUpdate(BaseModel):
    trace_ids: TraceIdList
    add_tags: Tags = []
    remove_tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] = []


class TraceBatchCreate(BaseModel):
    """Items are validated one by one in the service, so one bad trace rejects only itself."""

    traces: Annotated[list[Any], Field(min_length=1)]


class TraceAccepted(BaseModel):
    trace_id: uuid.UUID
    task_id: str


class SpanIds(BaseModel):
    span_ids: list[uuid.UUID]


class Deleted(BaseModel):
    deleted: int


class Updated(BaseModel):
    updated: int


class TraceBatchItem(BaseModel):
    trace_id: uuid.UUID | None
    status: Literal["accepted", "rejected"]
    error: str | None = None


class TraceBatchResult(BaseModel):
    results: list[TraceBatchItem]
    accepted: int
    rejected: int


class SpanRead(BaseModel):
    span_id: uuid.UUID
    trace_id: uuid.UUID
    parent_span_id: uuid.UUID | None
    name: str
    kind: str
    status: str
    input: Any
    output: Any
    model: str | None
    token_usage: dict[str, int] | None
    metadata: dict[str, Any]
    started_at: Timestamp
    ended_at: Timestamp | None
    error: str | None
    completion_start_time: Timestamp | None
    model_parameters: dict[str, Any] | None
    cost: dict[str, float] | None
    # Beside `cost`, not in it: PandaProbe's clients read every value of `cost` as a number.
    cost_source: CostSource | None
    latency_ms: float | None
    time_to_first_token_ms: float | None


class TraceRead(BaseModel):
    trace_id: uuid.UUID
    project_id: uuid.UUID
    name: str
    status: str
    input: Any
    output: Any
    metadata: dict[str, Any]
    started_at: Timestamp
    ended_at: Timestamp | None
    session_id: str | None
    user_id: str | None
    tags: list[str]
    environment: str | None
    release: str | None
    spans: list[SpanRead]
    total_tokens: int
    total_cost: float


class TraceListItem(BaseModel):
    trace_id: uuid.UUID
    name: str
    status: str
    started_at: Timestamp
    ended_at: Timestamp | None
    session_id: str | None
    user_id: str | None
    tags: list[str]
    environment: str | None
    release: str | None
    latency_ms: float | None
    span_count: int
    total_tokens: int
    total_cost: float
