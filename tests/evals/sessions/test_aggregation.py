"""The session metrics' maths (API.md §4.4) on hand-computed examples."""

from __future__ import annotations

import math

import pytest

from sightline.engine.session.aggregation import (
    DEFAULT_SIGNAL_WEIGHTS,
    NothingToEvaluate,
    agent_consistency,
    agent_reliability,
    merge_weights,
)

W = DEFAULT_SIGNAL_WEIGHTS
THREE = {
    # risks: confidence 0.1, coherence 0, loop 0, tool 0.8 * 0.5 = 0.4 -> trace risk 0.4
    "t1": {"confidence": 0.9, "coherence": 1.0, "loop_detection": 1.0, "tool_correctness": 0.5},
    "t2": {"confidence": 0.2},  # risk 0.8
    "t3": {"confidence": 1.0, "tool_correctness": 1.0},  # risk 0
}


def test_reliability_top_k_of_three() -> None:
    # N = 3 -> k = max(1, ceil(0.45)) = 1; raw = 0.9 * 0.8 + 0.1 * 0.8 = 0.8
    outcome = agent_reliability(THREE, W, total_traces=3)
    assert outcome.score == 0.2
    assert outcome.reason == "Elevated risk in 1 of 3 traces."
    assert outcome.metadata["flagged_traces"] == ["t2"]
    assert outcome.metadata["per_trace_signals"]["t1"] == {
        "confidence_risk": 0.1, "coherence_risk": 0.0, "loop_risk": 0.0, "tool_risk": 0.4,
    }  # fmt: skip
    assert outcome.metadata["aggregation"]["method"] == "max_compose_top_k"
    assert outcome.metadata["traces_evaluated"] == 3


def test_reliability_with_user_weights() -> None:
    # confidence weight 0.5: t1 max(0.05, 0.4) = 0.4, t2 0.4, t3 0 -> raw 0.4
    weights = merge_weights({"confidence": 0.5})
    assert weights == {**W, "confidence": 0.5}
    outcome = agent_reliability(THREE, weights, total_traces=3)
    assert outcome.score == 0.6
    assert outcome.reason == "No elevated risk across 3 traces."
    assert outcome.metadata["signal_weights"]["confidence"] == 0.5


def test_reliability_k_grows_with_the_session() -> None:
    # N = 10 -> k = ceil(1.5) = 2; top risks 0.9, 0.5 -> mean 0.7; raw = 0.63 + 0.09 = 0.72
    signals = {f"t{i}": {"confidence": 0.9} for i in range(8)}
    signals["bad"] = {"confidence": 0.1}
    signals["meh"] = {"confidence": 0.5}
    outcome = agent_reliability(signals, W, total_traces=10)
    assert outcome.score == 0.28
    assert outcome.metadata["aggregation"]["mean_top_k_risk"] == 0.7


def test_reliability_clamps_heavy_weights() -> None:
    outcome = agent_reliability({"t": {"confidence": 0.0}}, merge_weights({"confidence": 5}), 1)
    assert outcome.score == 0.0


def test_consistency_weighted_rms() -> None:
    signals = {
        # c = 0.2; penalty = 1 * 0.5 + 0.8 * 0 + 1 * 0.1 = 0.6; u = 1.6 * 0.2 = 0.32
        "t1": {"confidence": 0.8, "loop_detection": 0.5, "tool_correctness": 1.0, "coherence": 0.9},
        "t2": {"confidence": 0.6},  # u = 0.4
        "t3": {"coherence": 0.3},  # no confidence: not counted
    }
    outcome = agent_consistency(signals, W, total_traces=3)
    rms = math.sqrt((0.32**2 + 0.4**2) / 2)
    assert outcome.score == round(1 - rms, 4) == 0.6378
    assert outcome.reason == "Moderate instability detected across 2 traces."
    assert outcome.metadata["traces_evaluated"] == 2
    assert outcome.metadata["per_trace_signals"]["t1"]["weighted_uncertainty"] == 0.32
    assert outcome.metadata["aggregation"] == {"method": "weighted_rms", "rms_value": 0.362215}


def test_consistency_with_user_weights() -> None:
    # tool weight 2: penalty = 0.5 + 2 * 0.5 + 0.1 = 1.6; u = 2.6 * 0.2 = 0.52 -> 0.48
    signals = {"t1": {"confidence": 0.8, "loop_detection": 0.5, "tool_correctness": 0.5,
                      "coherence": 0.9}}  # fmt: skip
    outcome = agent_consistency(signals, merge_weights({"tool_correctness": 2.0}), 1)
    assert outcome.score == 0.48
    assert outcome.reason == "High instability across 1 traces; multiple signals compound."


def test_consistency_bands() -> None:
    steady = agent_consistency({"t": {"confidence": 0.9}}, W, 1)
    assert steady.score == 0.9 and steady.reason == "Consistent performance across 1 traces."


@pytest.mark.parametrize("metric", [agent_reliability, agent_consistency])
def test_all_signals_failed_is_not_a_perfect_score(metric: object) -> None:
    with pytest.raises(NothingToEvaluate, match="every signal failed"):
        metric({"t1": {}, "t2": {}}, W, 2)  # type: ignore[operator]
    with pytest.raises(NothingToEvaluate, match="no traces"):
        metric({}, W, 0)  # type: ignore[operator]


def test_consistency_needs_a_confidence_signal() -> None:
    with pytest.raises(NothingToEvaluate, match="confidence"):
        agent_consistency({"t1": {"coherence": 0.9, "loop_detection": 1.0}}, W, 1)
