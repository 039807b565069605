"""The session metrics' maths (API.md §4.4) on hand-computed examples."""

from __future__ import annotations

import math

import pytest

from sightline.engine.session.aggregation import (
    DEFAULT_SIGNAL_WEIGHTS,
    SIGNALS,
    InsufficientEvidence,
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


# Four traces, all risky; which of their 16 signals failed (a judge error) varies per test.
RISKY = {"confidence": 0.2, "coherence": 0.3, "loop_detection": 0.4, "tool_correctness": 0.1}


def session_with_failures(
    failed: dict[str, list[str]],
) -> tuple[dict[str, dict[str, float]], dict[str, list[str]]]:
    signals = {
        tid: {name: RISKY[name] for name in SIGNALS if name not in failed.get(tid, [])}
        for tid in ("t1", "t2", "t3", "t4")
    }
    return signals, failed


def test_eight_of_sixteen_failed_signals_are_named_in_the_reason() -> None:
    """The issue's case: not a plain "Elevated risk in 4 of 4 traces"."""
    signals, failed = session_with_failures(
        {"t1": ["confidence", "tool_correctness"], "t2": ["confidence", "tool_correctness"],
         "t3": ["confidence", "coherence"], "t4": ["confidence", "coherence"]}
    )  # fmt: skip
    outcome = agent_reliability(signals, W, 4, failed)
    assert outcome.reason == (
        "Elevated risk in 4 of 4 traces; 8 of 16 signals failed (confidence ×4, coherence ×2, "
        "tool_correctness ×2) and are not counted."
    )
    assert outcome.metadata["evidence"] == {
        "applicable_signals": 16, "succeeded_signals": 8, "failed_signals": 8,
        "failed_by_signal": {"confidence": 4, "coherence": 2, "tool_correctness": 2},
        "min_success_share": 0.5,
    }  # fmt: skip


def test_fewer_than_half_succeeded_is_insufficient_evidence() -> None:
    signals, failed = session_with_failures(
        {"t1": ["confidence", "tool_correctness", "coherence"], "t2": ["confidence", "coherence"],
         "t3": ["confidence", "coherence"], "t4": ["confidence", "tool_correctness"]}
    )  # fmt: skip
    for metric in (agent_reliability, agent_consistency):
        with pytest.raises(InsufficientEvidence) as raised:
            metric(signals, W, 4, failed)
        assert raised.value.code == "insufficient_evidence"
        assert str(raised.value) == (
            "9 of 16 signals failed (confidence ×4, coherence ×3, tool_correctness ×2); "
            "a session score needs at least 50% of them to succeed."
        )
        assert raised.value.metadata["evidence"]["succeeded_signals"] == 7


def test_not_applicable_signals_are_not_expected() -> None:
    """Traces without tools: tool_correctness is neither evidence nor failed, so 4 of 12
    failed is two thirds succeeded (not 8 of 16)."""
    signals = {tid: {"confidence": 0.9, "coherence": 0.9} for tid in ("t1", "t2", "t3", "t4")}
    signals["t1"]["loop_detection"] = 1.0
    signals["t2"]["loop_detection"] = 1.0
    failed = {"t3": ["loop_detection", "coherence"], "t4": ["loop_detection", "coherence"]}
    for tid in ("t3", "t4"):
        del signals[tid]["coherence"]
    outcome = agent_reliability(signals, W, 4, failed)
    assert outcome.metadata["evidence"]["applicable_signals"] == 12
    assert outcome.reason.endswith(
        "; 4 of 12 signals failed (coherence ×2, loop_detection ×2) and are not counted."
    )


def test_consistency_needs_half_of_its_confidence_signals() -> None:
    signals, failed = session_with_failures(
        {"t1": ["confidence"], "t2": ["confidence"], "t3": ["confidence"]}
    )
    assert agent_reliability(signals, W, 4, failed).score is not None  # 13 of 16: enough
    with pytest.raises(InsufficientEvidence, match="3 of 4 confidence signals failed"):
        agent_consistency(signals, W, 4, failed)


def test_consistency_reports_dispersion_beside_the_rms() -> None:
    """Steadily uncertain and erratically uncertain sessions can share a score; the
    dispersion tells them apart."""
    steady = agent_consistency({f"t{i}": {"confidence": 0.5} for i in range(4)}, W, 4)
    erratic = agent_consistency(
        {"t0": {"confidence": 1.0}, "t1": {"confidence": 0.0}, "t2": {"confidence": 0.5},
         "t3": {"confidence": 0.5}}, W, 4,
    )  # fmt: skip
    assert steady.metadata["dispersion"] == {
        "confidence_stdev": 0.0, "weighted_uncertainty_stdev": 0.0,
        "confidence_min": 0.5, "confidence_max": 0.5,
    }  # fmt: skip
    assert erratic.metadata["dispersion"]["confidence_stdev"] == round(math.sqrt(0.125), 6)
    assert erratic.metadata["dispersion"]["confidence_min"] == 0.0
    # RMS: sqrt((0 + 1 + 0.25 + 0.25) / 4) = 0.6124 -> 0.3876; steady: 1 - 0.5
    assert (steady.score, erratic.score) == (0.5, 0.3876)
