"""What a trace run will cost the judge, before it starts (the dashboard shows it beside
"Start evaluation").

    cost = targets × Σ over metrics (the metric's judge calls × (the rendered trace's tokens
           + the stage's instructions) × the model's prompt price
           + calls × COMPLETION_TOKENS_PER_CALL × the completion price)

The rendered trace is what the judge would read (``engine.render``, within the prompt
budget), measured on up to ``SAMPLE_TRACES`` of the targets, spread over them, and averaged.
Embedding metrics (coherence) add one embedding call over the trace's input and output.
It is an upper bound in one way: a step several metrics share (extracting the user's task)
runs once per trace, and answers already in the judge cache cost nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.engine.errors import ContextOverflow
from sightline.engine.judge.catalog import estimate_tokens, price, resolve_model
from sightline.engine.metrics import Metric, get_metric, listed_metrics
from sightline.engine.metrics.custom import JudgeMetric
from sightline.engine.render import render_trace
from sightline.engine.trace.evaluator import to_trace_view
from sightline.errors import DomainValidationError
from sightline.evals.metrics import service as custom_metrics
from sightline.evals.runs.schemas import EvalRunFilters
from sightline.evals.runs.service import (
    default_salt,
    in_sample,
    resolve_default_model,
    validate_metrics,
)
from sightline.kit.statuses import RunStatus
from sightline.traces import repository as traces_repo

SAMPLE_TRACES = 20
COMPLETION_TOKENS_PER_CALL = 150  # a JSON verdict with a short reason


@dataclass(frozen=True, slots=True)
class MetricCost:
    name: str
    calls_per_trace: int
    embedding_calls_per_trace: int
    prompt_tokens_per_trace: int
    cost_per_trace: float


@dataclass(frozen=True, slots=True)
class RunEstimate:
    targets: int
    measured_traces: int
    model: str
    rendered_tokens: int  # the mean rendered trace, in tokens
    metrics: list[MetricCost]
    judge_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    unpriced: list[str]  # models not in the price map (their cost counts as 0)


async def estimate_trace_run(
    db: AsyncSession,
    project_id: uuid.UUID,
    settings: Settings,
    *,
    metrics: Sequence[str],
    model: str | None = None,
    trace_ids: Sequence[uuid.UUID] | None = None,
    filters: Mapping[str, Any] | None = None,
    sampling_rate: float = 1.0,
) -> RunEstimate:
    """The run ``create_trace_run`` would make from the same arguments, priced."""
    custom = await custom_metrics.live_metrics(db, project_id)
    names = validate_metrics(metrics, [*(m.name for m in listed_metrics()), *custom])
    chosen = custom_metrics.built(custom[n] for n in names if n in custom)
    if not 0.0 < sampling_rate <= 1.0:
        raise DomainValidationError("sampling_rate must be greater than 0 and at most 1.")
    judge = resolve_model(model) if model else resolve_default_model(settings)
    if trace_ids is not None:
        found = await traces_repo.existing_trace_ids(db, project_id, list(trace_ids))
        targets = [t for t in dict.fromkeys(trace_ids) if t in found]
    else:
        stored = EvalRunFilters.model_validate(dict(filters or {})).stored()
        matched = await traces_repo.match_trace_ids(db, project_id, stored)
        salt = default_salt(project_id)
        targets = [t for t in matched if in_sample(salt, str(t), sampling_rate)]
    measured = _spread(targets, SAMPLE_TRACES)
    loaded = await traces_repo.load_traces(db, project_id, measured)
    budget = settings.judge_settings.prompt_token_budget
    rendered: list[int] = []
    embedded: list[int] = []
    for trace, spans in loaded.values():
        view = to_trace_view(trace, spans)
        try:
            rendered.append(render_trace(view, token_budget=budget).estimated_tokens)
        except ContextOverflow:
            rendered.append(budget)  # fails without a judge call; counted at its budget
        embedded.append(estimate_tokens(json.dumps([trace.input, trace.output], default=str)))
    trace_tokens = round(sum(rendered) / len(rendered)) if rendered else 0
    embed_tokens = round(sum(embedded) / len(embedded)) if embedded else 0
    unpriced: set[str] = set()
    costs = [
        _metric_cost(
            chosen.get(name) or get_metric(name), judge, settings, trace_tokens, embed_tokens,
            unpriced,
        )
        for name in names
    ]  # fmt: skip
    count = len(targets)
    calls = sum(c.calls_per_trace for c in costs)
    prompt = sum(c.prompt_tokens_per_trace for c in costs)
    return RunEstimate(
        targets=count,
        measured_traces=len(loaded),
        model=judge,
        rendered_tokens=trace_tokens,
        metrics=costs,
        judge_calls=count * calls,
        prompt_tokens=count * prompt,
        completion_tokens=count * calls * COMPLETION_TOKENS_PER_CALL,
        cost_usd=count * sum(c.cost_per_trace for c in costs),
        unpriced=sorted(unpriced),
    )


def _metric_cost(
    metric: Metric,
    judge: str,
    settings: Settings,
    trace_tokens: int,
    embed_tokens: int,
    unpriced: set[str],
) -> MetricCost:
    """A custom check has no stage (no judge call, cost 0); a custom judge one."""
    if isinstance(metric, JudgeMetric) and metric.config.model:
        judge = resolve_model(metric.config.model)
    prompt = sum(trace_tokens + estimate_tokens(stage.prompt) for stage in metric.stages)
    calls = len(metric.stages)
    cost, note = price(judge, prompt, calls * COMPLETION_TOKENS_PER_CALL)
    if note and calls:
        unpriced.add(judge)
    embeddings = 1 if metric.uses_embeddings else 0
    if embeddings:
        embedding_model = resolve_model(settings.judge_settings.embedding_model)
        embed_cost, embed_note = price(embedding_model, embed_tokens, 0, embedding=True)
        cost += embed_cost
        if embed_note:
            unpriced.add(embedding_model)
    return MetricCost(metric.name, calls, embeddings, prompt, cost)


def _spread(items: Sequence[uuid.UUID], count: int) -> list[uuid.UUID]:
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def seconds_left(
    status: str, started_at: datetime | None, evaluated: int, total: int, now: datetime
) -> float | None:
    """The rest of a running run at its pace so far; None before its first target is done."""
    if status != RunStatus.RUNNING or started_at is None or evaluated <= 0:
        return None
    elapsed = (now - started_at).total_seconds()
    return elapsed / evaluated * max(0, total - evaluated)
