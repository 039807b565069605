"""How far a judge agrees with people: the statistics, as pure functions (no I/O, no numpy).

Pairs are (human, judge) values of the same trace and metric. The human value is read as
the truth: the confusion matrix's rows are the human's labels, its columns the judge's.

- labels (BOOLEAN, CATEGORICAL): accuracy, Cohen's kappa, the confusion matrix;
- numbers (NUMERIC): Spearman's rank correlation (average ranks for ties), Pearson's
  correlation, the mean absolute error;
- each statistic with a bootstrap 95% interval: `RESAMPLES` resamples of the pairs drawn
  with replacement by a generator seeded with `SEED`, so the same pairs always give the same
  interval; percentile method with linear interpolation between order statistics.

A statistic that is undefined on the data is None with a note saying why, never a number
made up: kappa when the expected agreement is 1 (both raters used one and the same label),
a correlation when either side is constant. Resamples on which it is undefined are left out
of its interval; an interval with no defined resample is None.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from operator import add, mul, sub

RESAMPLES = 1000
SEED = 15  # the number: any fixed value makes the intervals reproducible
LEVEL = 0.95

Interval = tuple[float, float]
Statistic = Callable[[Sequence[int]], float | None]

KAPPA_UNDEFINED = (
    "kappa is undefined: the expected agreement is 1 (both raters gave one and the same label "
    "to every item)"
)


def _constant(side: str) -> str:
    return f"correlations are undefined: the {side}'s values are all equal"


# -- labels -----------------------------------------------------------------------------


def confusion_matrix(
    human: Sequence[str], judge: Sequence[str], labels: Sequence[str]
) -> list[list[int]]:
    """counts[i][j]: items the human labelled labels[i] and the judge labels[j]."""
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for h, j in zip(human, judge, strict=True):
        counts[index[h]][index[j]] += 1
    return counts


def accuracy_of(counts: Sequence[Sequence[int]]) -> float:
    n = sum(map(sum, counts))
    return sum(counts[i][i] for i in range(len(counts))) / n


def kappa_of(counts: Sequence[Sequence[int]]) -> float | None:
    """Cohen's kappa, (p_o - p_e) / (1 - p_e); None when p_e is 1."""
    n = sum(map(sum, counts))
    observed = accuracy_of(counts)
    rows = [sum(row) for row in counts]
    columns: list[int] = [sum(column) for column in zip(*counts, strict=True)]
    expected = sum(r * c for r, c in zip(rows, columns, strict=True)) / (n * n)
    if math.isclose(expected, 1.0):
        return None
    return (observed - expected) / (1.0 - expected)


# -- numbers ----------------------------------------------------------------------------


def _rank_sums(values: Sequence[float]) -> list[int]:
    """2 × average rank − 1 for each value: a linear image of the average ranks, so any
    correlation of them is the correlation of the ranks. Bisection keeps the work in C, which
    matters to the bootstrap (a thousand rankings)."""
    ordered = sorted(values)
    below = map(partial(bisect_left, ordered), values)
    up_to = map(partial(bisect_right, ordered), values)
    return list(map(add, below, up_to))


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks; tied values share the mean of the ranks they span."""
    return [(twice + 1) / 2 for twice in _rank_sums(values)]


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """None when either side has no variance (the correlation is undefined)."""
    if min(x) == max(x) or min(y) == max(y):
        return None
    n = len(x)
    sx, sy = sum(x), sum(y)
    sxx: float = sum(map(mul, x, x))
    syy: float = sum(map(mul, y, y))
    sxy: float = sum(map(mul, x, y))
    spread = (n * sxx - sx * sx) * (n * syy - sy * sy)
    if spread <= 0.0:
        return None
    # Rounding can push a perfect correlation a hair past ±1.
    return max(-1.0, min(1.0, (n * sxy - sx * sy) / math.sqrt(spread)))


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's correlation of the average ranks (correct with ties)."""
    return pearson(_rank_sums(x), _rank_sums(y))


def mean_absolute_error(x: Sequence[float], y: Sequence[float]) -> float:
    total: float = sum(map(abs, map(sub, x, y)))
    return total / len(x)


# -- the bootstrap ----------------------------------------------------------------------


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of sorted values, interpolating linearly."""
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def resamples(n: int, count: int = RESAMPLES, seed: int = SEED) -> list[list[int]]:
    """`count` lists of n indices drawn with replacement; the same for the same arguments."""
    rng = random.Random(seed)
    population = range(n)
    return [rng.choices(population, k=n) for _ in range(count)]


def interval(statistic: Statistic, samples: Sequence[Sequence[int]]) -> Interval | None:
    return interval_of(map(statistic, samples))


def interval_of(estimates: Iterable[float | None]) -> Interval | None:
    """The percentile interval of the resamples' estimates (undefined ones left out)."""
    values = sorted(v for v in estimates if v is not None)
    if not values:
        return None
    tail = (1 - LEVEL) / 2 * 100
    return percentile(values, tail), percentile(values, 100 - tail)


# -- the two answers --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelAgreement:
    n: int
    labels: list[str]
    matrix: list[list[int]]
    accuracy: float
    accuracy_ci: Interval | None
    kappa: float | None
    kappa_ci: Interval | None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class NumericAgreement:
    n: int
    spearman: float | None
    spearman_ci: Interval | None
    pearson: float | None
    pearson_ci: Interval | None
    mae: float
    mae_ci: Interval | None
    notes: list[str] = field(default_factory=list)


def label_agreement(
    human: Sequence[str],
    judge: Sequence[str],
    labels: Sequence[str],
    *,
    count: int = RESAMPLES,
    seed: int = SEED,
) -> LabelAgreement:
    """``labels`` must hold every value of either side (the matrix's order)."""
    n = len(human)
    matches = [int(h == j) for h, j in zip(human, judge, strict=True)]

    def accuracy(sample: Sequence[int]) -> float:
        return sum(map(matches.__getitem__, sample)) / n

    def kappa(sample: Sequence[int]) -> float | None:
        # Only the marginals and the diagonal matter: no matrix per resample.
        rows = Counter(map(human.__getitem__, sample))
        columns = Counter(map(judge.__getitem__, sample))
        expected = sum(rows[label] * columns[label] for label in rows) / (n * n)
        if math.isclose(expected, 1.0):
            return None
        return (accuracy(sample) - expected) / (1.0 - expected)

    samples = resamples(n, count, seed)
    matrix = confusion_matrix(human, judge, labels)
    observed_kappa = kappa_of(matrix)
    return LabelAgreement(
        n=n,
        labels=list(labels),
        matrix=matrix,
        accuracy=accuracy_of(matrix),
        accuracy_ci=interval(accuracy, samples),
        kappa=observed_kappa,
        kappa_ci=interval(kappa, samples),
        notes=[] if observed_kappa is not None else [KAPPA_UNDEFINED],
    )


def numeric_agreement(
    human: Sequence[float],
    judge: Sequence[float],
    *,
    count: int = RESAMPLES,
    seed: int = SEED,
) -> NumericAgreement:
    rho, r = spearman(human, judge), pearson(human, judge)
    notes = [
        _constant(side)
        for side, values in (("human", human), ("judge", judge))
        if min(values) == max(values)
    ]
    # One pass per resample for the three statistics (each picks the same pairs).
    rhos, rs, errors = [], [], []
    for sample in resamples(len(human), count, seed):
        xs, ys = list(map(human.__getitem__, sample)), list(map(judge.__getitem__, sample))
        rhos.append(spearman(xs, ys))
        rs.append(pearson(xs, ys))
        errors.append(mean_absolute_error(xs, ys))
    return NumericAgreement(
        n=len(human),
        spearman=rho,
        spearman_ci=interval_of(rhos),
        pearson=r,
        pearson_ci=interval_of(rs),
        mae=mean_absolute_error(human, judge),
        mae_ci=interval_of(errors),
        notes=notes,
    )
