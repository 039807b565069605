"""An OTLP export: each resource's spans go to its project, become trace pieces
(pieces.py, mapping.py) and are written by the ingestion writer as derived traces. What cannot be
stored (bad IDs, invalid values, a trace of another project) is refused span by span and
reported in partial_success; the rest is committed before the answer."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans
from pydantic import BaseModel, TypeAdapter, ValidationError

from sightline.errors import DomainValidationError
from sightline.identity.schemas import Scope
from sightline.kit.types import STORABLE_BODY
from sightline.ratelimit import Bucket, RateLimiter
from sightline.traces.ingest.batch import describe
from sightline.traces.ingest.service import Item
from sightline.traces.ingest.writer import GroupWriter
from sightline.traces.otlp import pieces as assembly
from sightline.traces.otlp.dependencies import Caller
from sightline.traces.otlp.schemas import ExportOutcome
from sightline.traces.schemas import SpanCreate, TraceCreate
from sightline.traces.validation import MAX_SHORT_CHARS

_TRACE = TypeAdapter(TraceCreate)
# mapping.py makes only storable values (see attributes.py): validation skips those checks.
_STORABLE = {STORABLE_BODY: True}
# The trace fields that mapping.py copies from attributes whatever their type and length
# (field, its fewest characters): the only ones TraceCreate's validation may refuse.
_AS_SENT = (("session_id", 1), ("user_id", 0), ("environment", 0), ("release", 0))
_Model = TypeVar("_Model", bound=BaseModel)
NO_PROJECT = (
    "no project: send X-Project-Name, or set the resource attribute "
    "openinference.project.name or service.name"
)


def _span_count(resource: ResourceSpans) -> int:
    return sum(len(scope_spans.spans) for scope_spans in resource.scope_spans)


def _valid_as_mapped(body: dict[str, Any]) -> bool:
    """Whether TraceCreate's validation would keep this body as it is. Everything else in it
    is valid by construction (mapping.py, pieces.py): names cut to length and never empty,
    span kinds and statuses from their enums, token counts range-checked ints, ended_at
    never before started_at, UUIDs, UTC datetimes, at most MAX_SPANS_PER_REQUEST spans with
    distinct IDs, at most MAX_TAGS tags of bounded length, string-keyed metadata, storable
    values (attributes.py)."""
    for name, fewest in _AS_SENT:
        value = body[name]
        if value is not None and not (
            type(value) is str and fewest <= len(value) <= MAX_SHORT_CHARS
        ):
            return False
    return True


def _built(model: type[_Model], fields: dict[str, Any]) -> _Model:
    """`model` holding `fields` unvalidated, as model_construct makes it but without its
    per-field loop, which costs as much as the validation it skips. `fields` holds every
    field of the model, in its order, each as validation would have kept it."""
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", fields)
    object.__setattr__(instance, "__pydantic_fields_set__", set(fields))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


for _plain in (SpanCreate, TraceCreate):
    # What _built sets is all model_construct sets only for such models.
    if _plain.__pydantic_post_init__ or _plain.model_config.get("extra") == "allow":
        raise TypeError(f"{_plain.__name__} needs model_construct, not _built")


def _trace(body: dict[str, Any]) -> TraceCreate:
    """The piece as a TraceCreate: built as it is (validating the mapping's output costs
    as much as the mapping), or validated when a field could be refused, so that a bad
    value gets the rejection, naming the field, that validation gives."""
    if not _valid_as_mapped(body):
        return _TRACE.validate_python(body, context=_STORABLE)
    spans = [_built(SpanCreate, span) for span in body["spans"]]
    return _built(TraceCreate, {**body, "spans": spans})


async def _projects(
    caller: Caller, request: ExportTraceServiceRequest, outcome: ExportOutcome
) -> tuple[dict[uuid.UUID, list[ResourceSpans]], Scope | None]:
    by_project: dict[uuid.UUID, list[ResourceSpans]] = {}
    first: Scope | None = None
    for resource in request.resource_spans:
        name = None if caller.scope is not None else assembly.resource_project(resource)
        if caller.scope is None and name is None:
            outcome.refuse(_span_count(resource), NO_PROJECT)
            continue
        try:
            scope = await caller.scope_for(name)
        except DomainValidationError as exc:
            outcome.refuse(_span_count(resource), f"project {name!r}: {exc.detail}")
            continue
        first = first or scope
        by_project.setdefault(scope.project_id, []).append(resource)
    return by_project, first


def _items(
    resources: list[ResourceSpans], outcome: ExportOutcome
) -> tuple[list[Item], dict[int, int]]:
    """The traces to write, by index, and each one's span count; what cannot be stored is
    refused in `outcome`."""
    pieces = assembly.pieces(resources)
    for refused in pieces.refused:
        outcome.refuse(refused.spans, refused.reason)
    items: list[Item] = []
    counts: dict[int, int] = {}
    for index, (body, count) in enumerate(pieces.traces):
        try:
            items.append((index, _trace(body)))
        except ValidationError as exc:
            outcome.refuse(count, f"trace {body['trace_id']}: {describe(exc)}")
            continue
        counts[index] = count
    return items, counts


async def _write_project(
    writer: GroupWriter,
    project_id: uuid.UUID,
    resources: list[ResourceSpans],
    outcome: ExportOutcome,
) -> None:
    items, counts = _items(resources, outcome)
    rejected = await writer.write(project_id, items, derived=True)
    for index, rejection in rejected.items():
        outcome.refuse(counts.pop(index), rejection.detail)
    outcome.accepted_spans += sum(counts.values())


async def export(
    writer: GroupWriter,
    limiter: RateLimiter,
    caller: Caller,
    request: ExportTraceServiceRequest,
) -> ExportOutcome:
    outcome = ExportOutcome()
    by_project, first = await _projects(caller, request, outcome)
    if first is not None:
        await limiter.admit(Bucket.INGEST, first)
    for project_id, resources in by_project.items():
        await _write_project(writer, project_id, resources, outcome)
    return outcome
