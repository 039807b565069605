"""Request models of session runs, and the session-metric list."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from sightline.engine.session.aggregation import SIGNALS
from sightline.evals.runs.schemas import MetricName, RunOptions
from sightline.kit.types import Name255, Timestamp

MAX_SESSION_METRICS = 10
MAX_BATCH_SESSIONS = 1000
MAX_FILTER_TAGS = 50

Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def check_signal_weights(value: dict[str, float] | None) -> dict[str, float] | None:
    if value is None:
        return None
    unknown = sorted(set(value) - set(SIGNALS))
    if unknown:
        raise ValueError(f"unknown signals {unknown}; signal_weights accepts {sorted(SIGNALS)}")
    return value


SignalWeights = Annotated[dict[str, Weight], Field(max_length=len(SIGNALS))]
_WEIGHTS = TypeAdapter(SignalWeights)


def parse_signal_weights(value: Any) -> dict[str, float]:
    """Finite, non-negative weights of known signals (PandaProbe accepted anything)."""
    weights = check_signal_weights(_WEIGHTS.validate_python(value))
    assert weights is not None
    return weights


class SessionEvalRunFilters(BaseModel):
    """Trace-level conditions; a session is in scope when one of its traces matches."""

    model_config = ConfigDict(extra="forbid")

    date_from: Timestamp | None = None
    date_to: Timestamp | None = None
    user_id: Name255 | None = None
    tags: Annotated[list[Name255], Field(max_length=MAX_FILTER_TAGS)] | None = None
    has_error: bool | None = None
    min_trace_count: Annotated[int, Field(ge=1)] | None = None

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class SessionRunOptions(RunOptions):
    metrics: Annotated[list[MetricName], Field(min_length=1, max_length=MAX_SESSION_METRICS)]
    signal_weights: SignalWeights | None = None

    _weights = field_validator("signal_weights")(check_signal_weights)

    @field_validator("metrics")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class SessionRunCreate(SessionRunOptions):
    filters: SessionEvalRunFilters | None = None
    sampling_rate: Annotated[float, Field(gt=0, le=1)] = 1.0


class SessionBatchRunCreate(SessionRunOptions):
    session_ids: Annotated[list[Name255], Field(min_length=1, max_length=MAX_BATCH_SESSIONS)]


class SessionMetricInfo(BaseModel):
    name: str
    description: str
    category: Literal["session"] = "session"
