"""The agreement statistics against values computed by hand (evals/agreement/stats.py)."""

from __future__ import annotations

import math

import pytest

from sightline.evals.agreement import stats


def _labels(table: dict[tuple[str, str], int]) -> tuple[list[str], list[str]]:
    human, judge = [], []
    for (h, j), count in table.items():
        human += [h] * count
        judge += [j] * count
    return human, judge


def test_a_two_by_two_table_with_a_known_kappa() -> None:
    # human true & judge true 20, true/false 5, false/true 10, false/false 15 (n = 50):
    # p_o = 35/50 = 0.7; p_e = (25/50)(30/50) + (25/50)(20/50) = 0.5; kappa = 0.2/0.5 = 0.4.
    human, judge = _labels(
        {("true", "true"): 20, ("true", "false"): 5, ("false", "true"): 10, ("false", "false"): 15}
    )
    found = stats.label_agreement(human, judge, ["false", "true"])
    assert found.n == 50
    assert found.accuracy == pytest.approx(0.7)
    assert found.kappa == pytest.approx(0.4)
    assert found.matrix == [[15, 10], [5, 20]]  # rows: the human's label; columns: the judge's
    assert found.notes == []
    for value, ci in ((found.accuracy, found.accuracy_ci), (found.kappa, found.kappa_ci)):
        assert ci is not None
        assert ci[0] <= value <= ci[1]
        assert ci[1] - ci[0] > 0.05  # 50 items cannot pin kappa down to a point


def test_kappa_of_three_categories() -> None:
    # rows human a/b/c, columns judge a/b/c.
    counts = [[10, 2, 0], [1, 8, 1], [0, 3, 5]]
    # n = 30; p_o = 23/30; rows 12, 10, 8; columns 11, 13, 6;
    # p_e = (12·11 + 10·13 + 8·6) / 900 = 310/900; kappa = (23/30 − 310/900) / (1 − 310/900).
    expected = (23 / 30 - 310 / 900) / (1 - 310 / 900)
    assert stats.kappa_of(counts) == pytest.approx(expected)
    assert stats.accuracy_of(counts) == pytest.approx(23 / 30)
    human, judge = [], []
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            human += ["abc"[i]] * count
            judge += ["abc"[j]] * count
    assert stats.confusion_matrix(human, judge, ["a", "b", "c"]) == counts
    assert stats.label_agreement(human, judge, ["a", "b", "c"]).kappa == pytest.approx(expected)


def test_kappa_is_undefined_when_both_raters_used_one_label() -> None:
    found = stats.label_agreement(["true"] * 12, ["true"] * 12, ["false", "true"])
    assert found.accuracy == 1.0
    assert found.kappa is None and found.kappa_ci is None
    assert found.notes == [stats.KAPPA_UNDEFINED]
    assert found.matrix == [[0, 0], [0, 12]]


def test_perfect_and_chance_agreement() -> None:
    perfect = stats.label_agreement(["a", "b"] * 6, ["a", "b"] * 6, ["a", "b"])
    assert perfect.kappa == pytest.approx(1.0)
    # Each rater half a, half b, agreeing on exactly half: p_o = p_e = 0.5, kappa 0.
    chance = stats.kappa_of([[5, 5], [5, 5]])
    assert chance == pytest.approx(0.0)


def test_average_ranks_share_ties() -> None:
    assert stats.average_ranks([10, 20, 20, 30]) == [1.0, 2.5, 2.5, 4.0]
    assert stats.average_ranks([0.5, 0.1, 0.5, 0.5]) == [3.0, 1.0, 3.0, 3.0]


def test_a_ranking_with_a_known_spearman() -> None:
    # No ties, each neighbouring pair swapped: d = ±1 for all 10 items, so
    # rho = 1 − 6·Σd² / (n(n² − 1)) = 1 − 60/990.
    human = [k / 10 for k in range(1, 11)]
    judge = [0.2, 0.1, 0.4, 0.3, 0.6, 0.5, 0.8, 0.7, 1.0, 0.9]
    assert stats.spearman(human, judge) == pytest.approx(1 - 60 / 990)
    # With ties (average ranks): x ranks 1, 2.5, 2.5, 4 and y ranks 1, 3, 2, 4 give
    # Σdxdy = 4.5, Σdx² = 4.5, Σdy² = 5, rho = 4.5 / √22.5 = 3/√10.
    assert stats.spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(3 / math.sqrt(10))


def test_pearson_spearman_and_mae_of_one_sample() -> None:
    x, y = [1, 2, 3, 4, 5], [2, 4, 5, 4, 5]
    # dx = −2..2, dy = −2, 0, 1, 0, 1: Σdxdy = 6, Σdx² = 10, Σdy² = 6, r = 6/√60.
    assert stats.pearson(x, y) == pytest.approx(6 / math.sqrt(60))
    # y's average ranks 1, 2.5, 4.5, 2.5, 4.5: Σ = 7, Σdy² = 9, rho = 7/√90.
    assert stats.spearman(x, y) == pytest.approx(7 / math.sqrt(90))
    assert stats.mean_absolute_error(x, y) == pytest.approx(1.0)  # (1 + 2 + 2 + 0 + 0) / 5


def test_correlations_of_a_constant_side_are_undefined() -> None:
    assert stats.pearson([0.5] * 5, [0.1, 0.2, 0.3, 0.4, 0.5]) is None
    found = stats.numeric_agreement([0.5] * 12, [k / 12 for k in range(12)])
    assert found.spearman is None and found.pearson is None
    assert found.spearman_ci is None
    assert found.notes == ["correlations are undefined: the human's values are all equal"]
    assert found.mae == pytest.approx(sum(abs(0.5 - k / 12) for k in range(12)) / 12)


def test_the_numeric_answer_and_its_intervals() -> None:
    human = [k / 10 for k in range(1, 11)]
    judge = [0.2, 0.1, 0.4, 0.3, 0.6, 0.5, 0.8, 0.7, 1.0, 0.9]
    found = stats.numeric_agreement(human, judge)
    assert found.n == 10
    assert found.spearman == pytest.approx(1 - 60 / 990)
    # Equal spreads: r = 1 − Σ(x − y)² / (2 Σ(x − x̄)²) = 1 − 0.1 / (2 · 0.825).
    assert found.pearson == pytest.approx(1 - 0.1 / 1.65)
    assert found.mae == pytest.approx(0.1)
    assert found.mae_ci == pytest.approx((0.1, 0.1))  # every pair is 0.1 apart
    assert found.spearman_ci is not None and found.spearman_ci[0] < found.spearman_ci[1] <= 1.0
    # Seeded: the same pairs give the same intervals, call after call.
    assert stats.numeric_agreement(human, judge) == found


def test_percentile_interpolates_between_order_statistics() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert stats.percentile(values, 50) == 3.0
    assert stats.percentile(values, 2.5) == pytest.approx(1.1)  # 1 + (2 − 1) · 0.1
    assert stats.percentile(values, 97.5) == pytest.approx(4.9)
    assert stats.percentile([7.0], 97.5) == 7.0


def test_resamples_are_seeded() -> None:
    first = stats.resamples(20, count=5)
    assert first == stats.resamples(20, count=5)
    assert first != stats.resamples(20, count=5, seed=stats.SEED + 1)
    assert all(len(s) == 20 and all(0 <= k < 20 for k in s) for s in first)
