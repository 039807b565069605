"""Request and response models of trace scores and session scores."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sightline.kit.statuses import ScoreDataType, ScoreSource
from sightline.kit.types import CleanStr, Name255, Timestamp
from sightline.traces.validation import JsonObject


def check_value(value: str, data_type: str) -> str:
    """PandaProbe's value rules: NUMERIC in [0, 1], BOOLEAN true/false, CATEGORICAL free."""
    if data_type == ScoreDataType.NUMERIC:
        try:
            number = float(value)
        except ValueError:
            raise ValueError("NUMERIC score must be a number") from None
        if not 0.0 <= number <= 1.0:  # also refuses nan
            raise ValueError("NUMERIC score must be in [0.0, 1.0]")
    elif data_type == ScoreDataType.BOOLEAN and value.strip().lower() not in ("true", "false"):
        raise ValueError("BOOLEAN score must be 'true' or 'false'")
    return value


class TraceScoreCreate(BaseModel):
    trace_id: uuid.UUID
    name: Name255
    value: Annotated[CleanStr, Field(max_length=255)]
    data_type: ScoreDataType = ScoreDataType.NUMERIC
    source: ScoreSource = ScoreSource.ANNOTATION
    reason: Annotated[CleanStr, Field(max_length=10_000)] | None = None
    # The traces' JSON admission rule: finite numbers, 64-bit integers, bounded depth, no NUL.
    metadata: JsonObject = Field(default_factory=dict)

    @model_validator(mode="after")
    def _value_matches_type(self) -> TraceScoreCreate:
        check_value(self.value, self.data_type)
        return self


class TraceScoreUpdate(BaseModel):
    """Only the fields present in the body change; `reason: null` clears the reason."""

    value: Annotated[CleanStr, Field(max_length=255)] | None = None
    reason: Annotated[CleanStr, Field(max_length=10_000)] | None = None
    metadata: JsonObject | None = None


class TraceScoreResponse(BaseModel):
    id: uuid.UUID
    trace_id: uuid.UUID
    name: str
    value: str | None
    status: str
    source: str
    created_at: Timestamp
    project_id: uuid.UUID
    data_type: str
    eval_run_id: uuid.UUID | None
    author_user_id: str | None
    reason: str | None
    environment: str | None
    config_id: str | None
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    updated_at: Timestamp
    # Sightline's additions: the judge model and what the score cost.
    model: str | None = None
    judge_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


class SessionScoreResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: uuid.UUID
    session_id: str
    project_id: uuid.UUID
    name: str
    data_type: str
    value: str | None
    source: str
    status: str
    eval_run_id: uuid.UUID | None
    author_user_id: str | None
    reason: str | None
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    model: str | None = None  # Sightline's addition: the judge model
    created_at: Timestamp
    updated_at: Timestamp
