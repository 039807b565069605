"""What the executor needs from a kind of target (a trace, a session).

The executor is generic: it claims a target's (target, metric) tasks, asks the target type's
``TargetEvaluator`` for one outcome per metric, then, in one transaction, has the evaluator
write its score rows and marks the tasks DONE or FAILED. The table of evaluators per target
type is built explicitly by the executor (``executor.target_evaluators``): nothing registers
itself by being imported.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.db.session import SessionFactory
from sightline.engine.budget import Budget
from sightline.engine.errors import (
    BudgetExhausted,
    ContextOverflow,
    EngineError,
    JudgeAuthError,
    JudgeModelError,
    RetryableJudgeError,
    UnparseableAnswer,
)
from sightline.engine.judge.types import JudgeClient, Usage
from sightline.engine.metrics import Metric, get_metric
from sightline.engine.metrics.custom import scoring_model
from sightline.kit.statuses import ScoreDataType

# Failure codes: the reason of a FAILED score starts with one (context_overflow and
# budget_exhausted are the whole reason), and metadata["error"] holds it.
CONTEXT_OVERFLOW = "context_overflow"
BUDGET_EXHAUSTED = "budget_exhausted"


@dataclass(frozen=True, slots=True)
class RunContext:
    """One run as an executor works on it: shared by every target of the run."""

    run_id: uuid.UUID
    project_id: uuid.UUID
    target_type: str
    metric_names: tuple[str, ...]
    filters: Mapping[str, Any]
    model: str
    judge: JudgeClient
    budget: Budget
    settings: Settings
    session_factory: SessionFactory
    # The run's custom metrics, built from the versions pinned at its creation.
    custom_metrics: Mapping[str, Metric] = field(default_factory=dict)

    def metric(self, name: str) -> Metric:
        """A metric of the run by name: its custom metric, else the built-in."""
        custom = self.custom_metrics.get(name)
        return custom if custom is not None else get_metric(name)

    def scoring_model(self, metric: Metric) -> str | None:
        """The model a metric's scores record (None: a deterministic check)."""
        return scoring_model(metric, self.model)

    @property
    def judge_free(self) -> bool:
        """Every metric of the run is a deterministic custom check: no judge call, so the
        database round trips are the work, and targets are claimed and loaded in bulk."""
        return bool(self.metric_names) and all(
            name in self.custom_metrics and self.scoring_model(self.custom_metrics[name]) is None
            for name in self.metric_names
        )


@dataclass(frozen=True, slots=True)
class PairOutcome:
    """The result of one (target, metric) pair: a score, a failure with its reason, or
    (``not_applicable``) the finding that the metric does not apply: no score, not failed.
    It is stored as a SUCCESS row with a null value (README, "What a score rests on")."""

    metric: str
    score: float | None
    reason: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    store: bool = True  # False when there is nothing to attach a score to (target gone)
    # Values the evaluator's evaluate() hands to its write() (not stored as metadata).
    context: dict[str, Any] = field(default_factory=dict)
    not_applicable: bool = False
    data_type: ScoreDataType = ScoreDataType.NUMERIC
    label: str | None = None  # a CATEGORICAL score's value (its score is None)

    @property
    def failed(self) -> bool:
        return self.score is None and self.label is None and not self.not_applicable

    @property
    def value(self) -> str | None:
        """The stored value: a NUMERIC score rounded to 4 places, BOOLEAN "true"/"false",
        a CATEGORICAL label; None for a failure or a not-applicable finding."""
        return stored_value(self.score, self.data_type, self.label)

    @classmethod
    def failure(cls, metric: str, error: BaseException, *, store: bool = True) -> PairOutcome:
        code, reason = describe_failure(error)
        return cls(metric, None, reason, {"error": code}, store=store)


def stored_value(score: float | None, data_type: str, label: str | None) -> str | None:
    if data_type == ScoreDataType.CATEGORICAL:
        return label
    if score is None:
        return None
    if data_type == ScoreDataType.BOOLEAN:
        return "true" if score >= 0.5 else "false"
    return str(round(score, 4))


class TargetMissing(EngineError):
    """The target was deleted after the run was created."""


def describe_failure(error: BaseException) -> tuple[str, str]:
    """(code, reason) for a failed pair; the reason is what the user reads on the score."""
    if isinstance(error, ContextOverflow):
        return CONTEXT_OVERFLOW, CONTEXT_OVERFLOW
    if isinstance(error, BudgetExhausted):
        return BUDGET_EXHAUSTED, BUDGET_EXHAUSTED
    for kind, code in (
        (TargetMissing, "target_missing"),
        (JudgeAuthError, "judge_auth_error"),
        (JudgeModelError, "judge_model_error"),
        (UnparseableAnswer, "unparseable_answer"),
        (RetryableJudgeError, "judge_unavailable"),
        (EngineError, "metric_error"),
    ):
        if isinstance(error, kind):
            return code, f"{code}: {error}"
    return "internal_error", f"internal_error: {type(error).__name__}: {error}"


class TargetEvaluator(Protocol):
    async def evaluate(
        self, ctx: RunContext, target_id: str, metrics: Sequence[str]
    ) -> list[PairOutcome]:
        """One outcome per metric; metric failures are outcomes, never exceptions."""

    async def write(
        self, db: AsyncSession, ctx: RunContext, target_id: str, outcomes: list[PairOutcome]
    ) -> None:
        """Upsert the score rows of ``outcomes`` (inside the executor's transaction)."""


@runtime_checkable
class BulkTargetEvaluator(TargetEvaluator, Protocol):
    """An evaluator that can also load many targets at once (before their evaluation, for a
    judge-free run) and write many targets' rows in one statement."""

    async def prefetch(self, ctx: RunContext, target_ids: Sequence[str]) -> None:
        """Load the targets now, for the next ``evaluate`` of each."""

    async def write_many(
        self, db: AsyncSession, ctx: RunContext, results: Sequence[tuple[str, list[PairOutcome]]]
    ) -> None:
        """``write`` for several targets at once."""
