"""Custom metrics: definitions, versions, deletion, and what other domains ask of them.

A metric is one row per version. Creating one is version 1 (or, for a name deleted before,
the version after its last: a name's versions never repeat, so old scores can never be
mistaken for the new definition's). A PATCH of ``kind`` or ``config`` adds the next version
(nothing is added when they are unchanged); ``description`` alone is edited in place.
DELETE marks every version deleted: scores, and runs already created, keep what they had;
the name can then be defined again.

Public API for other domains:

- ``score_type_of(db, project_id, name)``: a built-in's or a live custom metric's
  ``MetricScoreType`` (data type, labels, current version), None for an unknown name.
- ``live_metrics(db, project_id, names=None)``: the live custom metrics at their current
  version, by name (what run creation and monitors resolve names with).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.db.models import CustomMetric
from sightline.engine.metrics import Metric, UnknownMetric, get_metric
from sightline.engine.metrics.custom import Definition, build
from sightline.engine.metrics.custom.config import (
    Kind,
    LlmJudgeConfig,
    parse_config,
    score_type,
    stored_config,
)
from sightline.engine.session.aggregation import SESSION_METRICS
from sightline.errors import Conflict, DomainValidationError, NotFound
from sightline.evals.metrics import repository
from sightline.evals.metrics.schemas import (
    CustomMetricResponse,
    MetricCreate,
    MetricScoreType,
    MetricUpdate,
    MetricVersion,
)
from sightline.evals.runs.providers import check_judge_model
from sightline.kit.statuses import ScoreDataType

__all__ = [
    "MetricScoreType",
    "create_metric",
    "delete_metric",
    "get_metric_detail",
    "list_metrics",
    "live_metrics",
    "score_type_of",
    "update_metric",
]


def _builtin_score_type(name: str) -> MetricScoreType | None:
    if name in SESSION_METRICS:
        return MetricScoreType(ScoreDataType.NUMERIC, None, 1)
    try:
        metric = get_metric(name)
    except UnknownMetric:
        return None
    return MetricScoreType(ScoreDataType.NUMERIC, None, metric.version)


def row_score_type(row: CustomMetric) -> MetricScoreType:
    data_type, labels = score_type(row.kind, row.config)
    return MetricScoreType(data_type, labels, row.version)


async def score_type_of(
    db: AsyncSession, project_id: uuid.UUID, name: str
) -> MetricScoreType | None:
    builtin = _builtin_score_type(name)
    if builtin is not None:
        return builtin
    row = await repository.current(db, project_id, name)
    return None if row is None else row_score_type(row)


async def live_metrics(
    db: AsyncSession, project_id: uuid.UUID, names: Iterable[str] | None = None
) -> dict[str, CustomMetric]:
    rows = await repository.current_many(db, project_id, names)
    return {row.name: row for row in rows}


async def pinned_metrics(
    db: AsyncSession, project_id: uuid.UUID, pins: dict[str, int]
) -> dict[str, CustomMetric]:
    """The given versions (deleted ones too), by name."""
    return {row.name: row for row in await repository.versions(db, project_id, pins)}


def built(rows: Iterable[CustomMetric]) -> dict[str, Metric]:
    """The engine's metrics of the given versions (the run's judge: for descriptions,
    templates and estimates; the executor builds the ones it evaluates)."""
    return {
        row.name: build(Definition(row.name, row.version, row.kind, row.description, row.config))
        for row in rows
    }


# -- validation ---------------------------------------------------------------------------


def _field_error(loc: tuple[str | int, ...], message: str, value: Any) -> InitErrorDetails:
    # The message goes through the context: a template would read braces in it as fields.
    error = PydanticCustomError("value_error", "{reason}", {"reason": message})
    return InitErrorDetails(type=error, loc=loc, input=value)


def _invalid(errors: Sequence[InitErrorDetails]) -> ValidationError:
    """A 422 in the request-schema envelope, each error naming its field."""
    return ValidationError.from_exception_data("MetricCreate", list(errors))


def validated_config(kind: Kind, config: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The config in stored form (defaults filled in), or a 422 naming ``config -> ...``."""
    try:
        parsed = parse_config(kind, config)
    except ValidationError as exc:
        raise _invalid(
            [_field_error(("config", *e["loc"]), e["msg"], e.get("input")) for e in exc.errors()]
        ) from None
    if isinstance(parsed, LlmJudgeConfig) and parsed.model is not None:
        try:
            check_judge_model(settings, parsed.model)
        except DomainValidationError as exc:
            raise _invalid([_field_error(("config", "model"), exc.detail, parsed.model)]) from None
    return stored_config(parsed)


# -- definitions --------------------------------------------------------------------------


def _not_found(name: str) -> NotFound:
    return NotFound(f"Metric {name!r} not found in this project.")


def _conflict(name: str) -> Conflict:
    return Conflict(f"A metric named {name!r} already exists in this project.")


async def _add_version(db: AsyncSession, row: CustomMetric) -> CustomMetric:
    """Insert a version; a concurrent insert of the same (project, name, version) is 409."""
    repository.add(db, row)
    try:
        await db.flush()
    except IntegrityError:  # the request's transaction is rolled back with the 409
        raise _conflict(row.name) from None
    return row


async def create_metric(
    db: AsyncSession, project_id: uuid.UUID, body: MetricCreate, settings: Settings
) -> CustomMetric:
    config = validated_config(body.kind, body.config, settings)
    if await repository.current(db, project_id, body.name) is not None:
        raise _conflict(body.name)
    version = await repository.max_version(db, project_id, body.name) + 1
    row = CustomMetric(
        id=uuid.uuid4(), project_id=project_id, name=body.name, version=version,
        kind=body.kind.value, description=body.description, config=config,
    )  # fmt: skip
    return await _add_version(db, row)


async def list_metrics(
    db: AsyncSession, project_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[CustomMetric], int]:
    rows = await repository.current_many(db, project_id)
    return rows[offset : offset + limit], len(rows)


async def get_metric_detail(
    db: AsyncSession, project_id: uuid.UUID, name: str
) -> tuple[CustomMetric, list[CustomMetric]]:
    history = await repository.history(db, project_id, name)
    if not history:
        raise _not_found(name)
    return history[-1], history


async def update_metric(
    db: AsyncSession, project_id: uuid.UUID, name: str, body: MetricUpdate, settings: Settings
) -> CustomMetric:
    current = await repository.current(db, project_id, name)
    if current is None:
        raise _not_found(name)
    sent = body.model_fields_set
    for field in ("description", "kind", "config"):
        if field in sent and getattr(body, field) is None:
            raise _invalid([_field_error((field,), f"{field} cannot be null", None)])
    kind = body.kind if body.kind is not None else Kind(current.kind)
    if kind != current.kind and body.config is None:
        raise _invalid(
            [_field_error(("config",), "config is required when the kind changes", None)]
        )
    config = current.config
    if body.config is not None:
        config = validated_config(kind, body.config, settings)
    description = body.description if body.description is not None else current.description
    if kind == current.kind and config == current.config:
        current.description = description  # the definition is the same: no new version
        await db.flush()
        return current
    row = CustomMetric(
        id=uuid.uuid4(), project_id=project_id, name=name, version=current.version + 1,
        kind=kind.value, description=description, config=config,
    )  # fmt: skip
    return await _add_version(db, row)


async def delete_metric(db: AsyncSession, project_id: uuid.UUID, name: str, now: datetime) -> None:
    if not await repository.mark_deleted(db, project_id, name, now):
        raise _not_found(name)


def to_response(
    row: CustomMetric, history: Sequence[CustomMetric] | None = None
) -> CustomMetricResponse:
    kind = row_score_type(row)
    return CustomMetricResponse(
        name=row.name,
        description=row.description,
        kind=row.kind,
        version=row.version,
        config=dict(row.config),
        data_type=kind.data_type,
        labels=list(kind.labels) if kind.labels else None,
        created_at=row.created_at,
        versions=None
        if history is None
        else [
            MetricVersion(
                version=h.version,
                kind=h.kind,
                description=h.description,
                config=dict(h.config),
                created_at=h.created_at,
            )  # fmt: skip
            for h in history
        ],
    )
