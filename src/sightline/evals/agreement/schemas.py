"""The agreement answer: one row per judge model and metric version.

A row is one of three shapes: label statistics (BOOLEAN, CATEGORICAL), numeric statistics
(NUMERIC), or — with fewer than `MIN_PAIRS` paired items — a message instead of numbers.
Intervals are `[low, high]` bootstrap 95% intervals (null when undefined on every resample);
a statistic undefined on the data is null with a note in `notes`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sightline.kit.statuses import ScoreDataType

MIN_PAIRS = 10

Interval = list[float]


class ConfusionMatrix(BaseModel):
    labels: list[str]
    rows: list[list[int]] = Field(
        description="rows[i][j]: items the reviewers labelled labels[i] and the judge labels[j]."
    )


class _Row(BaseModel):
    model: str | None = Field(description="The judge model (null for scores sent without one).")
    version: int = Field(description="The metric version the judge's scores were computed with.")
    data_type: ScoreDataType
    n: int = Field(description="Traces with both a judge score and an annotation.")


class LabelAgreementRow(_Row):
    accuracy: float
    accuracy_ci95: Interval | None
    kappa: float | None
    kappa_ci95: Interval | None
    confusion_matrix: ConfusionMatrix
    notes: list[str]


class NumericAgreementRow(_Row):
    spearman: float | None
    spearman_ci95: Interval | None
    pearson: float | None
    pearson_ci95: Interval | None
    mae: float
    mae_ci95: Interval | None
    notes: list[str]


class TooFewPairsRow(_Row):
    message: str


class AgreementResponse(BaseModel):
    metric: str
    rows: list[LabelAgreementRow | NumericAgreementRow | TooFewPairsRow]
    message: str | None
