"""What a new annotation queue holds: its metrics, each with its score type now (built-in
trace metrics or the project's own; session metrics are not scores of a trace), and its
traces, by ID (each in the project) or by a trace-run filter with an optional sample size.

A sample takes the traces with the lowest per-project hash, the hash that samples runs
(evals.runs.service.in_sample): the same filter gives the same sample, and it is what a run
over that filter samples first as its sampling_rate grows."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.engine.session.aggregation import SESSION_METRICS
from sightline.errors import DomainValidationError
from sightline.evals.annotations.schemas import (
    MAX_QUEUE_TRACES,
    AnnotationQueueCreate,
    QueueMetric,
)
from sightline.evals.metrics.service import score_type_of
from sightline.evals.runs.service import default_salt
from sightline.traces import repository as traces_repo


async def queue_metrics(
    db: AsyncSession, project_id: uuid.UUID, names: Sequence[str]
) -> list[QueueMetric]:
    metrics, unknown, per_session = [], [], []
    for name in dict.fromkeys(names):
        score_type = await score_type_of(db, project_id, name)
        if score_type is None:
            unknown.append(name)
        elif name in SESSION_METRICS:
            per_session.append(name)
        else:
            labels = list(score_type.labels) if score_type.labels else None
            metrics.append(QueueMetric(name=name, data_type=score_type.data_type,
                                       labels=labels, version=score_type.version))  # fmt: skip
    if unknown:
        raise DomainValidationError(
            f"Unknown metrics: {', '.join(unknown)}. A queue's metrics are built-in trace "
            "metrics (GET /evaluations/trace-metrics) or the project's own "
            "(GET /evaluations/metrics)."
        )
    if per_session:
        raise DomainValidationError(
            f"Session metrics cannot be annotated on traces: {', '.join(per_session)}."
        )
    return metrics


def _sample_key(salt: str, trace_id: uuid.UUID) -> int:
    # The hash of evals.runs.service.in_sample: the n lowest are the traces a run over the
    # same filter would sample first as its sampling_rate grows.
    return int.from_bytes(hashlib.sha256(f"{salt}{trace_id}".encode()).digest()[:8], "big")


async def select_traces(
    db: AsyncSession, project_id: uuid.UUID, body: AnnotationQueueCreate
) -> list[uuid.UUID]:
    if body.trace_ids is not None:
        targets = list(dict.fromkeys(body.trace_ids))
        found = await traces_repo.existing_trace_ids(db, project_id, targets)
        missing = [str(t) for t in targets if t not in found]
        if missing:
            more = f" (and {len(missing) - 20} more)" if len(missing) > 20 else ""
            raise DomainValidationError(
                f"Traces not found in this project: {', '.join(missing[:20])}{more}"
            )
        return targets
    assert body.filters is not None  # the schema requires one of the two
    matched = await traces_repo.match_trace_ids(db, project_id, body.filters.stored())
    if not matched:
        raise DomainValidationError("No traces match the provided filters.")
    if body.sample_size is None or body.sample_size >= len(matched):
        chosen = matched
    else:
        salt = default_salt(project_id)
        picked = set(sorted(matched, key=lambda t: _sample_key(salt, t))[: body.sample_size])
        chosen = [t for t in matched if t in picked]  # in the filter's order (started_at)
    if len(chosen) > MAX_QUEUE_TRACES:
        raise DomainValidationError(
            f"A queue holds at most {MAX_QUEUE_TRACES} traces; {len(chosen)} match. "
            "Set sample_size or narrow the filters."
        )
    return chosen
