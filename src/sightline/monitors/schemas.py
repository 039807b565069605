"""Request and response models of monitors (API.md §3.10, plus Sightline's fields)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sightline.evals.sessions.schemas import SignalWeights, check_signal_weights
from sightline.kit.types import Name255, Timestamp

MetricList = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1, max_length=64)
]
Rate = Annotated[float, Field(gt=0, le=1)]
Cost = Annotated[float, Field(gt=0, allow_inf_nan=False)]
# Long enough for any cron expression; longer values get a clear 422 (never a DB error).
Cadence = Annotated[str, Field(min_length=1, max_length=100)]


def _dedupe(value: list[str] | None) -> list[str] | None:
    return None if value is None else list(dict.fromkeys(value))


class MonitorCreate(BaseModel):
    name: Name255
    target_type: Annotated[str, Field(max_length=20)]
    metrics: MetricList
    filters: dict[str, Any] = Field(default_factory=dict)
    sampling_rate: Rate = 1.0
    model: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    cadence: Cadence
    only_if_changed: bool = True
    only_unscored: bool = True
    max_cost_usd: Cost | None = None
    signal_weights: SignalWeights | None = None

    _metrics = field_validator("metrics")(_dedupe)
    _weights = field_validator("signal_weights")(check_signal_weights)


class MonitorUpdate(BaseModel):
    """Only the keys present in the body change. An explicit ``null`` resets a field that has
    a default (filters → {}, sampling_rate → 1.0, model → the server default, only_* → true,
    max_cost_usd → no cap, signal_weights → none); for name, metrics and cadence, which have
    no default, ``null`` is a 422."""

    name: Name255 | None = None
    target_type: Annotated[str, Field(max_length=20)] | None = None
    metrics: MetricList | None = None
    filters: dict[str, Any] | None = None
    sampling_rate: Rate | None = None
    model: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    cadence: Cadence | None = None
    only_if_changed: bool | None = None
    only_unscored: bool | None = None
    max_cost_usd: Cost | None = None
    signal_weights: SignalWeights | None = None

    _metrics = field_validator("metrics")(_dedupe)
    _weights = field_validator("signal_weights")(check_signal_weights)


class MonitorResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    target_type: str
    metric_names: list[str]
    filters: dict[str, Any]
    sampling_rate: float
    model: str | None
    cadence: str
    only_if_changed: bool
    status: str
    last_run_at: Timestamp | None
    last_run_id: uuid.UUID | None
    next_run_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp
    # Sightline's additions.
    only_unscored: bool
    max_cost_usd: float | None
    last_skip_reason: str | None
    last_skip_at: Timestamp | None
