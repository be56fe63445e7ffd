"""Beyond accuracy: precision–recall curves, calibration, decision thresholds and class priors, computed
from predicted probabilities with NumPy alone (no torch), so a run's scores can be read anywhere.

    probabilities = softmax(logits)                               # one row per sample, one column per class
    curves = per_class_pr(probabilities, labels)                  # a PRCurve per class: precision, recall, AP
    rel = reliability(probabilities, labels, bins=15)             # the reliability diagram's bins and the ECE
    shifted = prior_shift(probabilities, train_prior, target)     # the same model, for another class prior
    summary = calibration_summary(probabilities, labels, groups)  # ECE and average precision, all and per group
    chosen = best_threshold(scores, positive)                     # the threshold with the best F1 (on validation)
    chosen = best_threshold(scores, positive, positive_share=0.01)  # ... for data with 1 % positives

Definitions (``n`` samples, ``C`` classes, ``p_i`` the predicted distribution of sample ``i``):

    precision(t) = TP(t) / (TP(t) + FP(t)),  recall(t) = TP(t) / P       one class against the rest, score ≥ t
    AP (PR-AUC)  = Σ_k (R_k − R_{k−1}) · P_k                             over the distinct scores, highest first
                   (a scorer that ranks at random has AP ≈ P / n, the share of positives)
    confidence_i = max_c p_ic,   correct_i = [argmax_c p_ic = y_i]
    ECE          = Σ_b (n_b / n) · | mean correct in bin b − mean confidence in bin b |   (equal-width bins)
    Brier        = mean_i Σ_c (p_ic − [y_i = c])²
    prior shift  p'(c | x) ∝ p(c | x) · π'_c / π_c                       (Bayes' rule when only the prior changes)
    precision at a share π of positives = TPR·π / (TPR·π + FPR·(1 − π))  (recall and FPR carry over, precision not)

A class that is never predicted has precision 0 (as ``metrics.per_class_scores``) and ``predicted == 0``,
so a caller can say "never predicted" rather than report a precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ProcrustesError

ArrayLike = Sequence | np.ndarray


def _matrix(probabilities: ArrayLike) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ProcrustesError(f"probabilities of shape {p.shape}: expected one row per sample and a column per class")
    return p


def _labels(labels: ArrayLike, n: int | None = None) -> np.ndarray:
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    if n is not None and len(y) != n:
        raise ProcrustesError(f"{len(y)} labels for {n} samples: expected one label per sample")
    return y


def softmax(logits: ArrayLike, axis: int = -1) -> np.ndarray:
    """Probabilities from logits (the maximum subtracted first, for stability)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def prior(counts: ArrayLike) -> np.ndarray:
    """Class shares ``n_c / Σ n`` from counts."""
    n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 1 or len(n) < 2 or (n < 0).any() or n.sum() <= 0:
        raise ProcrustesError(f"counts={list(n)}: expected two or more non-negative counts, not all zero")
    return n / n.sum()


# ---------------------------------------------------------------- precision–recall


@dataclass
class PRCurve:
    """One class against the rest: precision and recall at every distinct score, highest score first."""

    precision: np.ndarray  # at each threshold (the first point is the highest score)
    recall: np.ndarray
    thresholds: np.ndarray  # scores, decreasing: a sample is called positive when its score ≥ the threshold
    average_precision: float  # PR-AUC as the step-wise sum Σ (R_k − R_{k−1}) P_k; NaN without positives
    positives: int
    total: int

    @property
    def baseline(self) -> float:
        """The AP of a scorer that ranks at random: the share of positives."""
        return self.positives / self.total if self.total else float("nan")


def pr_curve(scores: ArrayLike, positive: ArrayLike) -> PRCurve:
    """Precision and recall of calling ``score ≥ t`` positive, for every distinct score ``t``."""
    thresholds, tp, fp, total_pos, total_neg = _sweep(scores, positive)
    tp, fp = tp.astype(np.float64), fp.astype(np.float64)
    precision = tp / (tp + fp)
    recall = tp / total_pos if total_pos else np.zeros_like(tp)
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision)) if total_pos else float("nan")
    return PRCurve(precision, recall, thresholds, ap, total_pos, total_pos + total_neg)


def per_class_pr(probabilities: ArrayLike, labels: ArrayLike) -> list[PRCurve]:
    """One precision–recall curve per class (its probability as the score, the class against the rest)."""
    p = _matrix(probabilities)
    y = _labels(labels, len(p))
    return [pr_curve(p[:, c], y == c) for c in range(p.shape[1])]


def average_precisions(probabilities: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """PR-AUC (average precision) of every class."""
    return np.array([c.average_precision for c in per_class_pr(probabilities, labels)])


# ---------------------------------------------------------------- calibration


@dataclass
class Reliability:
    """The bins of a reliability diagram (top-label confidence, equal-width bins) and the errors they give."""

    edges: np.ndarray  # bins + 1 edges from 0 to 1
    confidence: np.ndarray  # mean confidence of the samples in each bin (NaN for an empty bin)
    accuracy: np.ndarray  # share of them predicted correctly (NaN for an empty bin)
    counts: np.ndarray  # samples per bin
    ece: float  # expected calibration error: Σ_b (n_b / n) |accuracy_b − confidence_b|
    mce: float  # maximum calibration error over the non-empty bins

    @property
    def overconfident(self) -> bool:
        """True when, weighted by bin size, confidence exceeds accuracy."""
        full = self.counts > 0
        gap = self.confidence[full] - self.accuracy[full]
        return bool((gap * self.counts[full]).sum() > 0)


def reliability(probabilities: ArrayLike, labels: ArrayLike, bins: int = 15) -> Reliability:
    """Bin the samples by their top-label confidence and compare each bin's accuracy with its confidence."""
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ProcrustesError(f"bins={bins!r}: expected a whole number ≥ 1")
    p = _matrix(probabilities)
    y = _labels(labels, len(p))
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)  # [e_b, e_b+1), 1 in the last
    counts = np.bincount(which, minlength=bins).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, confidence, minlength=bins) / counts
        mean_acc = np.bincount(which, correct, minlength=bins) / counts
    full = counts > 0
    gaps = np.abs(mean_acc[full] - mean_conf[full])
    ece = float((counts[full] / len(p) * gaps).sum()) if len(p) else float("nan")
    return Reliability(edges, mean_conf, mean_acc, counts, ece, float(gaps.max()) if full.any() else float("nan"))


def expected_calibration_error(probabilities: ArrayLike, labels: ArrayLike, bins: int = 15) -> float:
    """ECE with equal-width bins of the top-label confidence (``reliability(...).ece``)."""
    return reliability(probabilities, labels, bins).ece


@dataclass(frozen=True)
class CalibrationSummary:
    """A run's test predictions in a few numbers: how calibrated, and how well each group's classes rank."""

    ece: float
    mean_average_precision: float  # over all classes
    group_average_precision: dict[str, float]  # mean AP of each group's classes (major / minor, many / few)

    @property
    def tail(self) -> str:
        """The least frequent group's name (the last group)."""
        return list(self.group_average_precision)[-1]

    def sentence(self) -> str:
        tail = (f", {self.group_average_precision[self.tail]:.2f} over the {self.tail} ones"
                if len(self.group_average_precision) > 1 else "")
        return (f"expected calibration error {self.ece:.3f}; average precision {self.mean_average_precision:.2f} "
                f"over all classes{tail}")


def calibration_summary(probabilities: ArrayLike, labels: ArrayLike,
                        groups: dict[str, list[int]] | None = None, bins: int = 15) -> CalibrationSummary:
    """The expected calibration error and the average precision over all classes and over each group's."""
    ap = average_precisions(probabilities, labels)
    by_group = {name: float(ap[list(members)].mean()) for name, members in (groups or {}).items() if len(members)}
    return CalibrationSummary(expected_calibration_error(probabilities, labels, bins), float(ap.mean()), by_group)


def brier_score(probabilities: ArrayLike, labels: ArrayLike) -> float:
    """Mean squared distance between the predicted distribution and the one-hot label."""
    p = _matrix(probabilities)
    y = _labels(labels, len(p))
    target = np.zeros_like(p)
    target[np.arange(len(p)), y] = 1.0
    return float(((p - target) ** 2).sum(axis=1).mean())


# ---------------------------------------------------------------- decision thresholds (one class against the rest)


@dataclass
class BinaryScores:
    """Calling ``score ≥ threshold`` positive: the four counts and what they give."""

    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def predicted(self) -> int:
        return self.tp + self.fp

    @property
    def accuracy(self) -> float:
        total = self.tp + self.fp + self.fn + self.tn
        return (self.tp + self.tn) / total if total else float("nan")

    @property
    def precision(self) -> float:
        """0 when nothing is called positive (see ``predicted``)."""
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        both = self.precision + self.recall
        return 2 * self.precision * self.recall / both if both else 0.0

    @property
    def balanced_accuracy(self) -> float:
        """Mean of the recall of the positives and the recall of the negatives (specificity)."""
        specificity = self.tn / (self.tn + self.fp) if self.tn + self.fp else 0.0
        return (self.recall + specificity) / 2

    def as_dict(self) -> dict[str, float]:
        return {"threshold": self.threshold, "accuracy": self.accuracy, "precision": self.precision,
                "recall": self.recall, "f1": self.f1, "balanced_accuracy": self.balanced_accuracy,
                "predicted_positive": self.predicted, "tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn}


def scores_at(scores: ArrayLike, positive: ArrayLike, threshold: float) -> BinaryScores:
    """The confusion counts of calling ``score ≥ threshold`` positive."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    pos = np.asarray(positive, dtype=bool).reshape(-1)
    if len(s) != len(pos):
        raise ProcrustesError(f"{len(s)} scores for {len(pos)} labels: expected one score per sample")
    called = s >= threshold
    return BinaryScores(float(threshold), int((called & pos).sum()), int((called & ~pos).sum()),
                        int((~called & pos).sum()), int((~called & ~pos).sum()))


def _sweep(scores: ArrayLike, positive: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Every distinct score as a threshold, highest first, with the true and false positives it gives."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    pos = np.asarray(positive, dtype=bool).reshape(-1)
    if len(s) != len(pos):
        raise ProcrustesError(f"{len(s)} scores for {len(pos)} labels: expected one score per sample")
    if not len(s):
        raise ProcrustesError("thresholds: no scores")
    order = np.argsort(-s, kind="mergesort")
    s, pos = s[order], pos[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(pos)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    return s[last_of_tie], tp, fp, int(pos.sum()), int((~pos).sum())


def precision_at_prior(recall: ArrayLike, false_positive_rate: ArrayLike, positive_share: float) -> np.ndarray:
    """The precision a threshold would have on data with ``positive_share`` positives, from its recall
    (true-positive rate) and false-positive rate, which do not depend on the share:
    ``precision = TPR·π / (TPR·π + FPR·(1 − π))`` (0 where nothing is called positive)."""
    if not 0 < positive_share < 1:
        raise ProcrustesError(f"positive_share={positive_share!r}: expected a share between 0 and 1")
    tpr, fpr = np.asarray(recall, dtype=np.float64), np.asarray(false_positive_rate, dtype=np.float64)
    called = tpr * positive_share + fpr * (1 - positive_share)
    return np.divide(tpr * positive_share, called, out=np.zeros_like(called), where=called > 0)


def best_threshold(scores: ArrayLike, positive: ArrayLike, metric: str = "f1",
                   positive_share: float | None = None) -> BinaryScores:
    """The threshold (one of the scores) that maximises ``metric`` (``f1`` or ``balanced_accuracy``) —
    choose it on a validation split, then apply it to the test split. Ties go to the higher threshold.

    ``positive_share``: maximise the F1 the threshold would have where positives are that share of the
    data (a deployment prior), not the validation split's own share: recall and the false-positive rate
    carry over from one prior to another, precision does not (``precision_at_prior``)."""
    if metric not in ("f1", "balanced_accuracy"):
        raise ProcrustesError(f"metric={metric!r}: expected f1 or balanced_accuracy")
    thresholds, tp, fp, total_pos, total_neg = _sweep(scores, positive)
    fn, tn = total_pos - tp, total_neg - fp
    if metric == "f1" and positive_share is not None:
        recall = tp / total_pos if total_pos else np.zeros(len(tp))
        precision = precision_at_prior(recall, fp / total_neg if total_neg else np.zeros(len(tp)), positive_share)
        value = np.divide(2 * precision * recall, precision + recall, out=np.zeros(len(tp)),
                          where=(precision + recall) > 0)
    elif metric == "f1":
        value = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(len(tp)), where=(2 * tp + fp + fn) > 0)
    else:
        recall = tp / total_pos if total_pos else np.zeros(len(tp))
        specificity = tn / total_neg if total_neg else np.zeros(len(tp))
        value = (recall + specificity) / 2
    k = int(np.argmax(value))  # the first maximum: the highest threshold among equals
    return BinaryScores(float(thresholds[k]), int(tp[k]), int(fp[k]), int(fn[k]), int(tn[k]))


def threshold_for_recall(scores: ArrayLike, positive: ArrayLike, target: float) -> BinaryScores:
    """The highest threshold whose recall reaches ``target`` (a screening test that must find most cases)."""
    if not 0 <= target <= 1:
        raise ProcrustesError(f"target={target!r}: expected a recall between 0 and 1")
    thresholds, tp, fp, total_pos, total_neg = _sweep(scores, positive)
    recall = tp / total_pos if total_pos else np.ones(len(tp))
    k = int(np.argmax(recall >= target - 1e-12))
    return BinaryScores(float(thresholds[k]), int(tp[k]), int(fp[k]), int(total_pos - tp[k]), int(total_neg - fp[k]))


# ---------------------------------------------------------------- class priors


def prior_shift(probabilities: ArrayLike, train_prior: ArrayLike, target_prior: ArrayLike) -> np.ndarray:
    """The model's probabilities for data whose class prior is ``target_prior`` instead of the
    training prior: ``p'(c|x) ∝ p(c|x) π'_c / π_c``. With a uniform target this is the argmax of
    logit adjustment with τ = 1."""
    p = _matrix(probabilities)
    source, target = np.asarray(train_prior, dtype=np.float64), np.asarray(target_prior, dtype=np.float64)
    if source.shape != (p.shape[1],) or target.shape != (p.shape[1],) or (source <= 0).any() or (target < 0).any():
        raise ProcrustesError(f"priors of {p.shape[1]} classes expected (training prior > 0, target ≥ 0)")
    shifted = p * (target / source)
    total = shifted.sum(axis=1, keepdims=True)
    return np.divide(shifted, total, out=np.full_like(shifted, 1.0 / p.shape[1]), where=total > 0)


def expected_accuracy(recall: ArrayLike, class_prior: ArrayLike) -> float:
    """Accuracy on data drawn with ``class_prior``: ``Σ_c π_c · recall_c``."""
    r, q = np.asarray(recall, dtype=np.float64), np.asarray(class_prior, dtype=np.float64)
    if r.shape != q.shape:
        raise ProcrustesError(f"{len(r)} recalls for {len(q)} prior shares: expected one of each per class")
    return float(q @ r / q.sum())


def resample_to_prior(labels: ArrayLike, class_prior: ArrayLike, seed: int = 0) -> np.ndarray:
    """Indices of a subset of ``labels`` whose class shares follow ``class_prior``, as large as the
    samples of each class allow (each class keeps ``round(m · π_c)`` of its samples, at least one
    where ``π_c > 0``); drawn without replacement by ``seed``."""
    y = _labels(labels)
    q = np.asarray(class_prior, dtype=np.float64)
    if q.ndim != 1 or (q < 0).any() or q.sum() <= 0:
        raise ProcrustesError("class_prior: expected non-negative shares, not all zero")
    q = q / q.sum()
    available = np.bincount(y, minlength=len(q))[:len(q)].astype(np.float64)
    wanted = q > 0
    if (available[wanted] == 0).any():
        raise ProcrustesError("resample to a prior: a class with a share has no samples to draw")
    size = float(np.min(available[wanted] / q[wanted]))  # the largest subset every class can fill
    rng = np.random.default_rng(seed)
    keep = [rng.choice(np.flatnonzero(y == c), max(1, int(round(size * q[c]))), replace=False)
            for c in range(len(q)) if q[c] > 0]
    return np.sort(np.concatenate(keep))
