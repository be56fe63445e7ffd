"""Paired comparison of two settings over the same seeds: is a difference beyond seed noise?

Two settings A and B trained on the same seeds (the same data subsets, the same initial weights and
batch orders) give one difference per seed, ``d_s = B_s − A_s``. The comparison reports each seed's
figures, the mean difference with its 95 % t-interval ``mean ± t_{0.975, n−1} · sd / √n``, the win
count, and one sentence in one order and one unit: "B vs A: +2.1 points [+0.8, +3.4], ahead on 7 of 8
seeds — beyond seed noise" (B's seeds ahead of A's), or "within seed noise" when the interval
contains 0. Every front (app, lessons, benchmarks) calls this. ``holm`` corrects the verdicts of a
family of comparisons made together (a lesson comparing many remedies with one baseline).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ProcrustesError, shown


def t_quantile(confidence: float, dof: int) -> float:
    """The two-sided Student-t quantile for ``confidence`` with ``dof`` degrees of freedom."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2, dof))


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and its t-interval; the interval is NaN for fewer than two values."""
    x = np.asarray(values, dtype=np.float64)
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan
    half = t_quantile(confidence, len(x) - 1) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return mean, mean - half, mean + half


@dataclass
class PairedComparison:
    """B − A over paired seeds, in the metric's units (``scale`` 100 turns accuracies into points)."""

    a: str
    b: str
    seeds: list[int]
    a_values: list[float]
    b_values: list[float]
    metric: str = "balanced accuracy"
    confidence: float = 0.95
    scale: float = 100.0
    unit: str = "points"

    @property
    def differences(self) -> list[float]:
        return [b - a for a, b in zip(self.a_values, self.b_values)]

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def interval(self) -> tuple[float, float, float]:
        """Mean difference and its interval, in the comparison's units."""
        mean, lo, hi = mean_interval(self.differences, self.confidence)
        return mean * self.scale, lo * self.scale, hi * self.scale

    @property
    def mean(self) -> float:
        return self.interval[0]

    @property
    def wins(self) -> int:
        """Seeds on which B is better than A."""
        return sum(d > 0 for d in self.differences)

    @property
    def beyond_noise(self) -> bool:
        """True when the interval excludes 0 (needs at least two seeds)."""
        _, lo, hi = self.interval
        return bool(lo > 0 or hi < 0)

    def sentence(self) -> str:
        """One sentence a learner can read, always in one order and one unit: B vs A, the mean
        difference B − A with its sign and interval, how many seeds B is ahead on, and whether that is
        beyond seed noise ("MFW + LA vs ERM + LA: +0.2 points [−8.1, +8.5], ahead on 2 of 3 seeds —
        within seed noise")."""
        mean, lo, hi = self.interval
        head = f"{self.b} vs {self.a}"
        if self.n < 2:
            return (f"{head}: {mean:+.1f} {self.unit} on 1 seed — one seed cannot tell an effect from seed "
                    "noise; train more seeds")
        if max(abs(d) for d in self.differences) * self.scale < 0.005:
            return (f"{head}: +0.0 {self.unit}, the same on all {self.n} seeds (to within 0.01 {self.unit}) — "
                    "within seed noise")
        verdict = "beyond seed noise" if self.beyond_noise else "within seed noise"
        return (f"{head}: {mean:+.1f} {self.unit} [{lo:+.1f}, {hi:+.1f}], ahead on {self.wins} of {self.n} "
                f"seeds — {verdict}")

    def rows(self) -> list[dict]:
        """Each seed's figures, for a table."""
        return [{"seed": s, self.a: a, self.b: b, "difference": (b - a) * self.scale}
                for s, a, b in zip(self.seeds, self.a_values, self.b_values)]

    def to_dict(self) -> dict:
        mean, lo, hi = self.interval
        return {"a": self.a, "b": self.b, "metric": self.metric, "seeds": list(self.seeds),
                "a_values": list(self.a_values), "b_values": list(self.b_values), "mean": mean, "lo": lo,
                "hi": hi, "wins": self.wins, "n": self.n, "beyond_noise": self.beyond_noise,
                "sentence": self.sentence()}


def paired_comparison(a_values: Sequence[float], b_values: Sequence[float], seeds: Sequence[int] | None = None,
                      a: str = "A", b: str = "B", metric: str = "balanced accuracy", confidence: float = 0.95,
                      scale: float = 100.0, unit: str = "points") -> PairedComparison:
    """Compare B with A over the same seeds (the i-th value of each belongs to the i-th seed)."""
    if len(a_values) != len(b_values):
        raise ProcrustesError(f"paired comparison: {len(a_values)} values of {a} but {len(b_values)} of {b}; "
                              "pair them seed by seed")
    if not len(a_values):
        raise ProcrustesError("paired comparison: no seeds to compare")
    seeds = list(range(len(a_values))) if seeds is None else list(seeds)
    if len(seeds) != len(a_values) or len(set(seeds)) != len(seeds):
        raise ProcrustesError(f"seeds={shown(seeds)}: expected {len(a_values)} different seeds, one per pair")
    bad = [s for s, x, y in zip(seeds, a_values, b_values) if not (math.isfinite(x) and math.isfinite(y))]
    if bad:
        raise ProcrustesError(f"paired comparison: seed {bad[0]} has no finite score (a diverged run?); "
                              "leave it out or train it again")
    return PairedComparison(a, b, seeds, [float(v) for v in a_values], [float(v) for v in b_values], metric,
                            confidence, scale, unit)


def paired_p_value(comparison: PairedComparison) -> float:
    """Two-sided p-value of the paired t-test behind the comparison's interval (the interval excludes 0
    exactly when this is below 1 − confidence); 1 for fewer than two seeds or no difference at all."""
    from scipy import stats

    d = np.asarray(comparison.differences, dtype=np.float64)
    if len(d) < 2:
        return 1.0
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        return 1.0 if float(d.mean()) == 0.0 else 0.0
    t = float(d.mean()) / (sd / math.sqrt(len(d)))
    return float(2 * stats.t.sf(abs(t), len(d) - 1))


@dataclass
class HolmVerdict:
    """One comparison of a family, judged after Holm's correction for the family's size."""

    comparison: PairedComparison
    p_value: float
    adjusted_p: float
    family: int
    alpha: float = 0.05

    @property
    def beyond_noise(self) -> bool:
        """True when the Holm-adjusted p-value is below ``alpha``."""
        return self.adjusted_p < self.alpha

    def sentence(self) -> str:
        """The comparison's sentence with the verdict after the correction: "B vs A: +2.1 points [+0.8,
        +3.4], ahead on 7 of 8 seeds — within seed noise after Holm's correction for 4 comparisons
        (adjusted p = 0.08)"; the interval is each comparison's own 95 % interval."""
        head = self.comparison.sentence().rsplit(" — ", 1)[0]
        verdict = "beyond seed noise" if self.beyond_noise else "within seed noise"
        return (f"{head} — {verdict} after Holm's correction for {self.family} comparisons "
                f"(adjusted p = {self.adjusted_p:.3f})")


def holm(comparisons: Sequence[PairedComparison], alpha: float = 0.05) -> list[HolmVerdict]:
    """Holm's step-down correction over a family of comparisons, in the order given. With m
    comparisons whose p-values sorted ascending are p_(1) ≤ … ≤ p_(m), the adjusted p_(i) is
    max_{j ≤ i} min(1, (m − j + 1) · p_(j)); a comparison is beyond seed noise when its adjusted p is
    below ``alpha``. The chance of any false "beyond noise" in the family stays at most ``alpha``
    (ten uncorrected 95 % verdicts on null comparisons give about a 40 % chance of one)."""
    if not comparisons:
        raise ProcrustesError("holm: no comparisons to correct")
    if not 0 < alpha < 1:
        raise ProcrustesError(f"alpha={shown(alpha)}: expected a number between 0 and 1")
    m = len(comparisons)
    p = [paired_p_value(c) for c in comparisons]
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda k: p[k])):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return [HolmVerdict(c, p[i], adjusted[i], m, alpha) for i, c in enumerate(comparisons)]
