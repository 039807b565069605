"""Judge–human agreement of one metric: pair the judge's scores with people's annotations
of the same traces, then compute the statistics (stats.py) per judge model and version.

- The judge's side: AUTOMATED, SUCCESS scores with a value; the latest per (trace, model,
  metric version), the version read from ``metadata.metric_version`` (absent: 1). The
  optional date range applies to these scores' ``created_at`` (how the judge did then).
- The people's side: ANNOTATION scores with a value; the latest per trace, whoever wrote
  it and whatever version they saw.
- A row's data type is its latest judge score's; a pair whose annotation has another data
  type (or an unreadable value) is left out. Labels are compared as stored, BOOLEAN ones
  case-insensitively; the matrix lists the metric's labels first, then any other value seen.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.errors import NotFound
from sightline.evals.agreement import repository as repo
from sightline.evals.agreement import stats
from sightline.evals.agreement.schemas import (
    MIN_PAIRS,
    AgreementResponse,
    ConfusionMatrix,
    LabelAgreementRow,
    NumericAgreementRow,
    TooFewPairsRow,
)
from sightline.evals.metrics.service import score_type_of
from sightline.kit.statuses import ScoreDataType

Row = LabelAgreementRow | NumericAgreementRow | TooFewPairsRow
DIGITS = 4  # the precision of stored judge scores


@dataclass
class _Group:
    """The paired values of one judge model and metric version."""

    model: str | None
    version: int
    data_type: ScoreDataType
    human: list[Any] = field(default_factory=list)
    judge: list[Any] = field(default_factory=list)


async def agreement(
    db: AsyncSession,
    project_id: uuid.UUID,
    name: str,
    *,
    model: str | None = None,
    version: int | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> AgreementResponse:
    score_type = await score_type_of(db, project_id, name)
    if score_type is None:
        raise NotFound(f"Metric {name} not found.")
    people: dict[uuid.UUID, tuple[str, str]] = {}
    for row in await repo.annotation_values(db, project_id, name):
        people[row.trace_id] = (row.value, row.data_type)  # oldest first: the latest wins
    judged: dict[tuple[str | None, int], dict[uuid.UUID, tuple[str, str]]] = {}
    for row in await repo.judge_scores(
        db, project_id, name, model=model, date_from=date_from, date_to=date_to
    ):
        row_version = _version_of(row.metadata_)
        if version is None or row_version == version:
            judged.setdefault((row.model, row_version), {})[row.trace_id] = (
                row.value,
                row.data_type,
            )
    groups = [_pair(key, scores, people) for key, scores in sorted(judged.items(), key=_order)]
    labels = list(score_type.labels or ())
    # The bootstrap is CPU work of up to seconds for thousands of pairs: off the event loop.
    rows = await asyncio.to_thread(lambda: [_row(g, labels) for g in groups])
    return AgreementResponse(metric=name, rows=rows, message=_message(name, rows))


def _version_of(metadata: dict[str, Any] | None) -> int:
    value = (metadata or {}).get("metric_version", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _order(item: tuple[tuple[str | None, int], Any]) -> tuple[str, int]:
    (model, version), _ = item
    return model or "", version


def _pair(
    key: tuple[str | None, int],
    scores: dict[uuid.UUID, tuple[str, str]],
    people: dict[uuid.UUID, tuple[str, str]],
) -> _Group:
    model, version = key
    # The latest judge score of the group (scores were read oldest first) sets its type.
    data_type = ScoreDataType(next(reversed(scores.values()))[1])
    group = _Group(model, version, data_type)
    for trace_id in sorted(scores):  # a fixed order: the bootstrap's draws depend on it
        annotated = people.get(trace_id)
        if annotated is None or annotated[1] != data_type:
            continue
        human, judge = _read(annotated[0], data_type), _read(scores[trace_id][0], data_type)
        if human is not None and judge is not None:
            group.human.append(human)
            group.judge.append(judge)
    return group


def _read(value: str, data_type: ScoreDataType) -> float | str | None:
    if data_type is ScoreDataType.NUMERIC:
        try:
            return float(value)
        except ValueError:
            return None
    if data_type is ScoreDataType.BOOLEAN:
        return value.strip().lower()
    return value


def _interval(found: stats.Interval | None) -> list[float] | None:
    return None if found is None else [round(found[0], DIGITS), round(found[1], DIGITS)]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DIGITS)


class _Head(TypedDict):
    model: str | None
    version: int
    data_type: ScoreDataType
    n: int


def _row(group: _Group, metric_labels: Sequence[str]) -> Row:
    head = _Head(
        model=group.model, version=group.version, data_type=group.data_type, n=len(group.human)
    )
    if len(group.human) < MIN_PAIRS:
        return TooFewPairsRow(
            **head,
            message=f"Only {len(group.human)} paired items; at least {MIN_PAIRS} are needed "
            "for agreement statistics.",
        )
    if group.data_type is ScoreDataType.NUMERIC:
        found = stats.numeric_agreement(group.human, group.judge)
        return NumericAgreementRow(
            **head,
            spearman=_round(found.spearman),
            spearman_ci95=_interval(found.spearman_ci),
            pearson=_round(found.pearson),
            pearson_ci95=_interval(found.pearson_ci),
            mae=round(found.mae, DIGITS),
            mae_ci95=_interval(found.mae_ci),
            notes=found.notes,
        )
    labels = _labels(group, metric_labels)
    counted = stats.label_agreement(group.human, group.judge, labels)
    return LabelAgreementRow(
        **head,
        accuracy=round(counted.accuracy, DIGITS),
        accuracy_ci95=_interval(counted.accuracy_ci),
        kappa=_round(counted.kappa),
        kappa_ci95=_interval(counted.kappa_ci),
        confusion_matrix=ConfusionMatrix(labels=counted.labels, rows=counted.matrix),
        notes=counted.notes,
    )


def _labels(group: _Group, metric_labels: Sequence[str]) -> list[str]:
    known = ["false", "true"] if group.data_type is ScoreDataType.BOOLEAN else list(metric_labels)
    seen = set(group.human) | set(group.judge)
    return known + sorted(seen - set(known))


def _message(name: str, rows: Sequence[Row]) -> str | None:
    if not rows:
        return f"No trace has both a judge score and an annotation of {name} yet."
    short = sum(isinstance(r, TooFewPairsRow) for r in rows)
    if short:
        return (
            f"{short} of {len(rows)} rows have fewer than {MIN_PAIRS} paired items: "
            "no statistics for them yet."
        )
    return None
