"""The session metrics' maths (API.md §4.4): pure functions over per-trace signal scores.

Input is ``{trace_id: {signal: score}}`` in session order, holding only the signals that
are evidence, and ``{trace_id: [signal, ...]}`` naming the signals that failed (a judge
error). A signal that did not apply (not applicable, or nothing to compare) is in neither.

What a session score rests on (README, "What a score rests on"):

- the *applicable* signals are the session's traces × 4 signals, minus the not-applicable
  ones: those that succeeded plus those that failed;
- fewer than ``MIN_EVIDENCE_SHARE`` (50%) of them succeeded → ``InsufficientEvidence``:
  the caller stores a FAILED score whose reason starts ``insufficient_evidence:`` and says
  how many of how many failed. agent_consistency, which rests on the confidence signal,
  also needs half of its confidence signals;
- otherwise the score is computed from what succeeded, and when some signals failed the
  reason says how many and which: "...; 3 of 16 signals failed (tool_correctness ×2,
  confidence ×1) and are not counted.";
- nothing applicable at all (no traces, every signal not applicable) → ``NothingToEvaluate``
  (unlike PandaProbe, never a perfect 1.0).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
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
MIN_EVIDENCE_SHARE = 0.5  # of the applicable signals that must have succeeded

Signals = Mapping[str, Mapping[str, float]]
Failures = Mapping[str, Sequence[str]]  # {trace_id: [signals that failed]}


class NothingToEvaluate(Exception):
    """No trace carried the signals a metric needs; the session score must be FAILED."""

    code = "no_signals"

    def __init__(self, message: str, metadata: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.metadata = dict(metadata or {})


class InsufficientEvidence(NothingToEvaluate):
    """Too many of the applicable signals failed for the score to mean anything."""

    code = "insufficient_evidence"


@dataclass(frozen=True, slots=True)
class Evidence:
    """How many of the applicable signals (of ``names``) succeeded and failed."""

    names: tuple[str, ...]
    succeeded: Counter[str]
    failed: Counter[str]

    @classmethod
    def of(
        cls, signals: Signals, failures: Failures | None, names: Iterable[str] = SIGNALS
    ) -> Evidence:
        wanted = tuple(names)
        succeeded = Counter(n for s in signals.values() for n in s if n in wanted)
        failed = Counter(n for f in (failures or {}).values() for n in f if n in wanted)
        return cls(wanted, succeeded, failed)

    @property
    def applicable(self) -> int:
        return self.succeeded.total() + self.failed.total()

    def require(self, what: str = "signals", needs: str = "a session score needs") -> None:
        """Raises InsufficientEvidence below MIN_EVIDENCE_SHARE (nothing applicable is the
        caller's NothingToEvaluate, not this)."""
        applicable = self.applicable
        if applicable and self.succeeded.total() < MIN_EVIDENCE_SHARE * applicable:
            raise InsufficientEvidence(
                f"{self._failed_phrase(what)}; {needs} at least "
                f"{MIN_EVIDENCE_SHARE:.0%} of them to succeed.",
                {"evidence": self.as_metadata()},
            )

    def annotate(self, reason: str) -> str:
        """A computed score's reason, plus which signals failed when some did."""
        if not self.failed:
            return reason
        return f"{reason.rstrip('.')}; {self._failed_phrase('signals')} and are not counted."

    def as_metadata(self) -> dict[str, Any]:
        return {
            "applicable_signals": self.applicable,
            "succeeded_signals": self.succeeded.total(),
            "failed_signals": self.failed.total(),
            "failed_by_signal": {n: self.failed[n] for n in self.names if self.failed[n]},
            "min_success_share": MIN_EVIDENCE_SHARE,
        }

    def _failed_phrase(self, what: str) -> str:
        order = {name: index for index, name in enumerate(self.names)}
        named = sorted(self.failed.items(), key=lambda item: (-item[1], order[item[0]]))
        breakdown = ", ".join(f"{name} ×{count}" for name, count in named)
        return f"{self.failed.total()} of {self.applicable} {what} failed ({breakdown})"


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
    signals: Signals,
    weights: Mapping[str, float],
    total_traces: int,
    failures: Failures | None = None,
) -> SessionMetricOutcome:
    """Max-compose per trace, then a top-k tail-risk mean blended with the worst trace."""
    evidence = Evidence.of(signals, failures)
    evidence.require()
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
        evidence.annotate(reason),
        {
            "total_traces_in_session": total_traces,
            "traces_evaluated": n,
            "evidence": evidence.as_metadata(),
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
    signals: Signals,
    weights: Mapping[str, float],
    total_traces: int,
    failures: Failures | None = None,
) -> SessionMetricOutcome:
    """Weighted RMS of each trace's uncertainty, amplified by its other signals' risks.

    PandaProbe's formula, and despite the name a measure of how *uncertain* the agent is
    over the session (a quadratic mean, so the worst turns weigh more), not of how much it
    varies: ten turns all at confidence 0.3 score 0.3, however steady. The spread across
    turns is reported beside it in ``metadata.dispersion`` (population standard deviations
    of the per-trace confidence and weighted uncertainty)."""
    evidence = Evidence.of(signals, failures)
    evidence.require()
    Evidence.of(signals, failures, ("confidence",)).require(
        "confidence signals", "agent_consistency rests on confidence and needs"
    )
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
    confidences = [signals[tid]["confidence"] for tid in per_trace]
    uncertainties = [t["weighted_uncertainty"] for t in per_trace.values()]
    score = _clamp(1.0 - rms)
    if score >= 0.8:
        reason = f"Consistent performance across {n} traces."
    elif score >= 0.5:
        reason = f"Moderate instability detected across {n} traces."
    else:
        reason = f"High instability across {n} traces; multiple signals compound."
    return SessionMetricOutcome(
        score,
        evidence.annotate(reason),
        {
            "total_traces_in_session": total_traces,
            "traces_evaluated": n,
            "evidence": evidence.as_metadata(),
            "raw_instability": round(rms, 6),
            "signal_weights": dict(weights),
            "per_trace_signals": per_trace,
            "aggregation": {"method": "weighted_rms", "rms_value": round(rms, 6)},
            "dispersion": {
                "confidence_stdev": round(statistics.pstdev(confidences), 6),
                "weighted_uncertainty_stdev": round(statistics.pstdev(uncertainties), 6),
                "confidence_min": min(confidences),
                "confidence_max": max(confidences),
            },
        },
    )


def _no_signals_reason(total_traces: int, needed: str) -> str:
    if total_traces == 0:
        return "Session has no traces to evaluate."
    return (
        f"No trace of the {total_traces} in the session has {needed}: every signal failed "
        "or was not applicable."
    )


SESSION_METRICS = {
    "agent_consistency": agent_consistency,
    "agent_reliability": agent_reliability,
}
SESSION_METRIC_DESCRIPTIONS = {
    "agent_consistency": (
        "How certain the agent stays in a conversation: 1 - the RMS of each turn's "
        "uncertainty (1 - confidence) amplified by loop, tool and coherence risks. A level, "
        "not a variability."
    ),
    "agent_reliability": (
        "Tail risk of a conversation: each turn's worst weighted signal risk (confidence, "
        "loops, tool use, coherence), aggregated over the riskiest 15% of turns."
    ),
}
