"""The ``config`` of each kind of custom metric, validated with Pydantic.

A bad definition fails here with the field and the reason: an invalid regular expression
(``pattern``: RE2 syntax, which has no backreferences or lookaround and runs in linear
time), an invalid JSON Schema (``schema``, checked against its own metaschema), a
CATEGORICAL judge without ``labels``, bounds that cannot both hold. Unknown keys are
refused, so a misspelt setting is never silently ignored.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal

import jsonschema
import re2
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from sightline.kit.statuses import ScoreDataType

SPAN_KINDS = ("AGENT", "TOOL", "LLM", "RETRIEVER", "CHAIN", "EMBEDDING", "OTHER")
SpanKindName = Literal["AGENT", "TOOL", "LLM", "RETRIEVER", "CHAIN", "EMBEDDING", "OTHER"]
MAX_PATTERN_CHARS = 2_000
# What RE2 may use to compile one pattern (its default is 8 MiB).
RE2_MAX_MEM = 8 << 20

Text = Annotated[str, Field(min_length=1, max_length=1_000)]


class Kind(StrEnum):
    LLM_JUDGE = "llm_judge"
    REGEX = "regex"
    JSON_SCHEMA = "json_schema"
    CONTAINS = "contains"
    THRESHOLD = "threshold"
    TOOL_CALLED = "tool_called"


DETERMINISTIC_KINDS = frozenset(Kind) - {Kind.LLM_JUDGE}


class Sees(StrEnum):
    """What an llm_judge metric's judge reads of the trace."""

    INPUT_OUTPUT = "input_output"
    ALL_STEPS = "all_steps"
    TOOL_CALLS = "tool_calls"
    SPAN_KINDS = "span_kinds"


class Measure(StrEnum):
    LATENCY_MS = "latency_ms"
    COST_USD = "cost_usd"
    TOTAL_TOKENS = "total_tokens"
    SPAN_COUNT = "span_count"
    ERROR_COUNT = "error_count"


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_field(value: str) -> str:
    if value in ("output", "input"):
        return value
    prefix, _, kind = value.partition(":")
    if prefix == "span_kind" and kind in SPAN_KINDS:
        return value
    raise ValueError(
        f"must be 'output', 'input' or 'span_kind:<KIND>' with KIND one of "
        f"{', '.join(SPAN_KINDS)}; got {value!r}"
    )


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """The compiled RE2 pattern; raises ValueError("invalid regular expression: ...")."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = RE2_MAX_MEM
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(f"invalid regular expression: {reason}") from None


class LlmJudgeConfig(_Config):
    criteria: Annotated[str, Field(min_length=1, max_length=5_000)]
    evaluation_steps: Annotated[list[Text], Field(max_length=12)] | None = None
    score_type: ScoreDataType = ScoreDataType.NUMERIC
    labels: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]] | None,
        Field(min_length=2, max_length=20, validate_default=True),
    ] = None
    sees: Sees = Sees.INPUT_OUTPUT
    span_kinds: Annotated[list[SpanKindName] | None, Field(min_length=1, validate_default=True)] = (
        None
    )
    model: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    threshold: Annotated[float, Field(ge=0.0, le=1.0, validate_default=True)] | None = None

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        categorical = info.data.get("score_type") == ScoreDataType.CATEGORICAL
        if categorical and not value:
            raise ValueError("labels are required for a CATEGORICAL metric (at least two)")
        if value and not categorical:
            raise ValueError("labels are only for a CATEGORICAL metric")
        if value and len(set(value)) != len(value):
            raise ValueError("labels must be distinct")
        return value

    @field_validator("span_kinds")
    @classmethod
    def _span_kinds(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        wanted = info.data.get("sees") == Sees.SPAN_KINDS
        if wanted and not value:
            raise ValueError("span_kinds is required when sees is 'span_kinds'")
        if value and not wanted:
            raise ValueError("span_kinds is only for sees 'span_kinds'")
        return list(dict.fromkeys(value)) if value else value

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("score_type") != ScoreDataType.NUMERIC:
            raise ValueError("threshold is only for a NUMERIC metric")
        return value


class RegexConfig(_Config):
    field: str = "output"
    pattern: Annotated[str, Field(min_length=1, max_length=MAX_PATTERN_CHARS)]
    must_match: bool = True

    @field_validator("field")
    @classmethod
    def _field(cls, value: str) -> str:
        return _check_field(value)

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        compile_pattern(value)
        return value


class JsonSchemaConfig(_Config):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    field: Literal["output", "input"] = "output"
    # A JSON Pointer (RFC 6901) into the value: "" is the whole value, "/answer/0" a part.
    pointer: Annotated[str, Field(max_length=1_000, pattern=r"^(/.*)?$")] = ""
    json_schema: dict[str, Any] = Field(alias="schema")

    @field_validator("json_schema")
    @classmethod
    def _schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        validator = jsonschema.validators.validator_for(value)
        try:
            validator.check_schema(value)
        except jsonschema.SchemaError as exc:
            where = "/".join(str(p) for p in exc.path)
            raise ValueError(
                f"invalid JSON Schema: {exc.message}" + (f" (at /{where})" if where else "")
            ) from None
        return value


class ContainsConfig(_Config):
    field: str = "output"
    phrases: Annotated[list[Text], Field(min_length=1, max_length=100)]
    mode: Literal["all", "any", "none"] = "all"
    case_sensitive: bool = False

    @field_validator("field")
    @classmethod
    def _field(cls, value: str) -> str:
        return _check_field(value)


class ThresholdConfig(_Config):
    measure: Measure
    max: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    min: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> ThresholdConfig:
        if self.max is None and self.min is None:
            raise ValueError("give max, min or both")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        return self


class ToolCalledConfig(_Config):
    tool: Annotated[str, Field(min_length=1, max_length=255)]
    called: bool = True
    min_times: Annotated[int, Field(ge=1, le=100_000)] | None = None
    max_times: Annotated[int, Field(ge=1, le=100_000)] | None = None

    @model_validator(mode="after")
    def _times(self) -> ToolCalledConfig:
        if not self.called and (self.min_times is not None or self.max_times is not None):
            raise ValueError("min_times and max_times are only for called: true")
        if (
            self.min_times is not None
            and self.max_times is not None
            and self.min_times > self.max_times
        ):
            raise ValueError(f"min_times ({self.min_times}) is above max_times ({self.max_times})")
        return self


AnyConfig = (
    LlmJudgeConfig | RegexConfig | JsonSchemaConfig | ContainsConfig | ThresholdConfig
    | ToolCalledConfig
)  # fmt: skip
CONFIGS: dict[Kind, type[AnyConfig]] = {
    Kind.LLM_JUDGE: LlmJudgeConfig,
    Kind.REGEX: RegexConfig,
    Kind.JSON_SCHEMA: JsonSchemaConfig,
    Kind.CONTAINS: ContainsConfig,
    Kind.THRESHOLD: ThresholdConfig,
    Kind.TOOL_CALLED: ToolCalledConfig,
}


def parse_config(kind: str, config: dict[str, Any]) -> AnyConfig:
    """The kind's config model; raises pydantic.ValidationError (locations inside config)."""
    return CONFIGS[Kind(kind)].model_validate(config)


def stored_config(config: AnyConfig) -> dict[str, Any]:
    """The config as stored and answered: every setting, defaults included."""
    return config.model_dump(mode="json", by_alias=True)


def score_type(kind: str, config: dict[str, Any]) -> tuple[ScoreDataType, tuple[str, ...] | None]:
    """(data type, labels) of a stored definition: a check is BOOLEAN; a judge says."""
    if kind != Kind.LLM_JUDGE:
        return ScoreDataType.BOOLEAN, None
    data_type = ScoreDataType(config.get("score_type", ScoreDataType.NUMERIC))
    labels = config.get("labels")
    if data_type == ScoreDataType.CATEGORICAL and labels:
        return data_type, tuple(labels)
    return data_type, None
