"""The session metrics' maths (API.md §4.4): pure functions over per-trace signal scores.

Input is ``{trace_id: {signal: score}}`` in session order, holding only the signals that
were computed. Unlike PandaProbe, a session where nothing could be evaluated does not score
a perfect 1.0: ``NothingToEvaluate`` is raised and the caller stores a FAILED score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SIGNALS: tuple[str, ...] = ("confidence", "coherence", "loop_detection", "tool_correctness")
DEFAULT_SIGNAL_WEIGHTS: dict[str, float] = {
    "confidence": 1.0,
    "loop_detection": 1.0,
    "tool_correctness": 0.8,
    "coherence": 1.0,
}
# Metadata names of each signal's risk (1 - score), as PandaProbe reports them.
RISK_KEYS: dict[str, str] = {
    "confidence": "confidence_risk",
    "loop_detection": "loop_risk",
    "tool_correctness": "tool_risk",
    "coherence": "coherence_risk",
}
TOP_K_FRACTION = 0.15
ENSEMBLE_WEIGHT = 0.1
FLAG_RISK = 0.5

Signals = Mapping[str, Mapping[str, float]]


class NothingToEvaluate(Exception):
    """No trace carried the signals a metric needs; the session score must be FAILED."""


@dataclass(frozen=True, slots=True)
class SessionMetricOutcome:
    score: float
    reason: str
    metadata: dict[str, Any]


def merge_weights(user: Mapping[str, float] | None) -> dict[str, float]:
    """The defaults with the user's (already validated) weights on top."""
    return {**DEFAULT_SIGNAL_WEIGHTS, **(user or {})}


def _clamp(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 4)


def _risks(signals: Mapping[str, float], weights: Mapping[str, float]) -> dict[str, float]:
    return {
        RISK_KEYS[name]: round(weights[name] * (1.0 - score), 6)
        for name, score in signals.items()
        if name in RISK_KEYS
    }


def agent_reliability(
    signals: Signals, weights: Mapping[str, float], total_traces: int
) -> SessionMetricOutcome:
    """Max-compose per trace, then a top-k tail-risk mean blended with the worst trace."""
    per_trace: dict[str, dict[str, float]] = {}
    for tid, trace_signals in signals.items():
        risks = _risks(trace_signals, weights)
        if risks:
            per_trace[tid] = risks
    if not per_trace:
        raise NothingToEvaluate(_no_signals_reason(total_traces, "any signal"))
    trace_risk = {tid: max(risks.values()) for tid, risks in per_trace.items()}
    ordered = sorted(trace_risk.values(), reverse=True)
    n = len(ordered)
    k = max(1, math.ceil(TOP_K_FRACTION * n))
    mean_top_k = sum(ordered[:k]) / k
    raw = (1 - ENSEMBLE_WEIGHT) * mean_top_k + ENSEMBLE_WEIGHT * ordered[0]
    flagged = [tid for tid, risk in trace_risk.items() if risk > FLAG_RISK]
    reason = (
        f"Elevated risk in {len(flagged)} of {n} traces."
        if flagged
        else f"No elevated risk across {n} traces."
    )
    return SessionMetricOutcome(
        _clamp(1.0 - raw),
        reason,
        {
            "total_traces_in_session": total_traces,
            "traces_evaluated": n,
            "raw_risk": round(raw, 6),
            "signal_weights": dict(weights),
            "per_trace_signals": per_trace,
            "flagged_traces": flagged,
            "aggregation": {
                "method": "max_compose_top_k",
                "top_k_percentile": TOP_K_FRACTION,
                "ensemble_weight": ENSEMBLE_WEIGHT,
                "mean_top_k_risk": round(mean_top_k, 6),
                "max_risk": round(ordered[0], 6),
            },
        },
    )


def agent_consistency(
    signals: Signals, weights: Mapping[str, float], total_traces: int
) -> SessionMetricOutcome:
    """Weighted RMS of each trace's uncertainty, amplified by its other signals' risks."""
    per_trace: dict[str, dict[str, float]] = {}
    for tid, trace_signals in signals.items():
        if "confidence" not in trace_signals:
            continue
        risks = _risks(trace_signals, weights)
        uncertainty = 1.0 - trace_signals["confidence"]
        penalty = sum(
            weights[name] * (1.0 - trace_signals[name])
            for name in ("loop_detection", "tool_correctness", "coherence")
            if name in trace_signals
        )
        weighted = (1.0 + penalty) * weights["confidence"] * uncertainty
        risks.update(situational_penalty=round(penalty, 6), weighted_uncertainty=round(weighted, 6))
        per_trace[tid] = risks
    if not per_trace:
        raise NothingToEvaluate(_no_signals_reason(total_traces, "a confidence signal"))
    n = len(per_trace)
    rms = math.sqrt(sum(t["weighted_uncertainty"] ** 2 for t in per_trace.values()) / n)
    score = _clamp(1.0 - rms)
    if score >= 0.8:
        reason = f"Consistent performance across {n} traces."
    elif score >= 0.5:
        reason = f"Moderate instability detected across {n} traces."
    else:
        reason = f"High instability across {n} traces; multiple signals compound."
    return SessionMetricOutcome(
        score,
        reason,
        {
            "total_traces_in_session": total_traces,
            "traces_evaluated": n,
            "raw_instability": round(rms, 6),
            "signal_weights": dict(weights),
            "per_trace_signals": per_trace,
            "aggregation": {"method": "weighted_rms", "rms_value": round(rms, 6)},
        },
    )


def _no_signals_reason(total_traces: int, needed: str) -> str:
    if total_traces == 0:
        return "Session has no traces to evaluate."
    return f"No trace of the {total_traces} in the session has {needed}: every signal failed."


SESSION_METRICS = {
    "agent_consistency": agent_consistency,
    "agent_reliability": agent_reliability,
}
SESSION_METRIC_DESCRIPTIONS = {
    "agent_consistency": (
        "How steady the agent is across a conversation: the weighted RMS of each turn's "
        "uncertainty (1 - confidence), amplified by loop, tool and coherence risks."
    ),
    "agent_reliability": (
        "Tail risk of a conversation: each turn's worst weighted signal risk (confidence, "
        "loops, tool use, coherence), aggregated over the riskiest 15% of turns."
    ),
}
