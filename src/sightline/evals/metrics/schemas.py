"""Custom-metric request and response models, and a metric's score type.

The kind-specific settings go in ``config``; the request model keeps it a JSON object and
the service validates it by kind (``engine.metrics.custom.config``), so a bad setting is a
422 naming ``config -> <field>`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sightline.engine.metrics import all_metrics
from sightline.engine.metrics.custom.config import Kind
from sightline.engine.session.aggregation import SESSION_METRICS
from sightline.kit.statuses import ScoreDataType
from sightline.kit.types import CleanStr, Timestamp
from sightline.traces.validation import JsonObject

NAME_PATTERN = r"^[a-z0-9_]{1,64}$"
Description = Annotated[CleanStr, Field(max_length=2_000)]


def builtin_names() -> frozenset[str]:
    """Every built-in metric's name, hidden ones (loop_detection) and session ones too."""
    return frozenset(m.name for m in all_metrics()) | frozenset(SESSION_METRICS)


@dataclass(frozen=True, slots=True)
class MetricScoreType:
    """What a metric's scores are: the data type, the labels of a categorical metric, and the
    metric's current version."""

    data_type: ScoreDataType
    labels: tuple[str, ...] | None
    version: int


class MetricCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=NAME_PATTERN, description="[a-z0-9_]{1,64}")]
    description: Description = ""
    kind: Kind
    config: JsonObject = Field(
        description="The kind's settings (README, 'Your own metrics'); validated by kind."
    )

    @field_validator("name")
    @classmethod
    def _not_builtin(cls, value: str) -> str:
        if value in builtin_names():
            raise ValueError(f"{value!r} is a built-in metric's name; choose another")
        return value


class MetricUpdate(BaseModel):
    """A new ``config`` (replacing the old one whole) or ``kind`` (with its config) makes a
    new version; ``description`` alone is edited in place."""

    model_config = ConfigDict(extra="forbid")

    description: Description | None = None
    kind: Kind | None = None
    config: JsonObject | None = None


class MetricVersion(BaseModel):
    version: int
    kind: str
    description: str
    config: dict[str, Any]
    created_at: Timestamp


class CustomMetricResponse(BaseModel):
    name: str
    description: str
    kind: str
    version: int
    config: dict[str, Any]
    data_type: ScoreDataType
    labels: list[str] | None
    created_at: Timestamp  # when this version was made
    # On GET by name: every version, oldest first; null in lists.
    versions: list[MetricVersion] | None = None
