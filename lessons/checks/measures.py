"""Checks of what a run measured: class counts, accuracies, words for precision, calibration and rare
events (lessons 1 and 8)."""

from __future__ import annotations

from typing import Any

import numpy as np

from procrustes_core import RunHistory
from procrustes_core.analysis import calibration
from procrustes_core.analysis.metrics import accuracy, balanced_accuracy
from procrustes_core.data.imbalance import class_counts

from .recipe import (
    _array,
    _judge,
    close,
)

# ---------------------------------------------------------------- lesson 1: what imbalance does


def check_step_counts(n_max: int, ratio: float, num_classes: int, answer: Any) -> bool:
    """The per-class training counts of step imbalance."""
    return _judge(answer, "a list of counts, one per class", class_counts(n_max, num_classes, "step", ratio),
                  "which classes are major, and how is n_max / ratio rounded?",
                  "Half the classes keep n_max, the other half n_max / ratio (rounded down).",
                  [(class_counts(n_max, num_classes, "longtail", ratio),
                    "those are long-tailed counts; step imbalance has only two sizes.")], close(0), shape=True)


def check_balanced_accuracy(history: RunHistory, answer: Any) -> bool:
    """Balanced accuracy from the last epoch's confusion matrix."""
    confusion = np.asarray(history.last.confusion, dtype=float)
    return _judge(answer, "a number between 0 and 1", balanced_accuracy(confusion),
                  "divide each diagonal entry by its row sum (the true class), then average.",
                  "It is the mean of the per-class recalls: every class counts the same.",
                  [(accuracy(confusion), "that is overall accuracy; average the recall of each class instead.")])


def check_balanced_from_predictions(y_true: Any, y_pred: Any, answer: Any) -> bool:
    """Balanced accuracy of a set of predictions: the mean over the classes present of their recall."""
    t, p = np.asarray(y_true).astype(int).ravel(), np.asarray(y_pred).astype(int).ravel()
    k = int(max(t.max(), p.max())) + 1
    confusion = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    return _judge(answer, "a number between 0 and 1", balanced_accuracy(confusion),
                  "for each class present, the share of its samples predicted as it; then the mean over classes.",
                  "It does not depend on how many samples each class has — only on each class's recall.",
                  [(accuracy(confusion), "that is plain accuracy, which the class shares weigh; average the recalls.")])


def check_prior_weighted_accuracy(history: RunHistory, answer: Any) -> bool:
    """Accuracy the model would show on a test set distributed like the imbalanced training set."""
    counts = np.asarray(history.counts, dtype=float)
    return _judge(answer, "a number between 0 and 1", float((counts / counts.sum()) @ np.asarray(history.last.recall)),
                  "weight the recall of class c by its share n_c / N of the training set, then sum.",
                  "Weighted by the training prior, the minor classes barely count.",
                  [(history.last.balanced_acc,
                    "that is the balanced accuracy; weight each recall by n_c / N instead.")])


def check_most_confused(history: RunHistory, answer: Any) -> bool:
    """The (true class, predicted class) pair with the most test mistakes."""
    confusion = np.asarray(history.last.confusion, dtype=float)
    np.fill_diagonal(confusion, -1)
    pairs = {(int(i), int(j)) for i, j in zip(*np.nonzero(confusion == confusion.max()))}

    def pair(answer: Any) -> tuple[int, int] | None:
        try:
            return int(answer[0]), int(answer[1])
        except (TypeError, ValueError, IndexError):
            return None

    def hits(answer: Any, wanted: set) -> bool:
        return pair(answer) in wanted

    swapped = {(j, i) for i, j in pairs}
    return _judge(answer, "a pair (true class, predicted class)", pairs,
                  "give two class indices (true, predicted): the largest entry off the diagonal of the counts.",
                  "Rows are true classes, columns predictions.",
                  [(swapped, "close: rows are the true class, columns the prediction.")], hits)



# ---------------------------------------------------------------- lesson 1: words that fit the numbers


def check_precision_word(history: RunHistory, cls: int, answer: Any) -> bool:
    """How to describe class ``cls``'s test precision: 'never predicted' (no prediction, so no precision),
    'high' (≥ 0.7), 'low' (< 0.3) or 'medium'."""
    confusion = np.asarray(history.last.confusion, dtype=float)
    predicted = confusion[:, cls].sum()
    precision = confusion[cls, cls] / predicted if predicted else None
    truth = ("never predicted" if precision is None else "high" if precision >= 0.7 else
             "low" if precision < 0.3 else "medium")
    return _judge(answer, "'high', 'medium', 'low' or 'never predicted'", truth,
                  "look at the column of that class in the confusion matrix: how many test samples were predicted "
                  "as it, and how many of those were right?",
                  "A word must fit the number: a class that is never predicted has no precision to call high.",
                  [(lambda a: truth == "never predicted" and str(a).strip().lower() == "high",
                    "it was never predicted: precision 0 in the table means no predictions, not high precision.")],
                  same=lambda a, t: str(a).strip().lower() == t)




# ---------------------------------------------------------------- lesson 8: beyond accuracy


def check_never_positive_accuracy(positive: Any, answer: Any) -> bool:
    """Accuracy of a screen that never says 'positive': the share of negatives."""
    pos = np.asarray(positive, dtype=bool)
    truth = float(1 - pos.mean())
    return _judge(answer, "a number between 0 and 1", truth,
                  "a screen that always says 'negative' is right on every negative sample.",
                  "High accuracy, zero recall: accuracy says nothing about the rare class.",
                  [(float(pos.mean()), "that is the share of positives; it is right on the negatives.")],
                  close(1e-4))


def check_average_precision(scores: Any, positive: Any, answer: Any) -> bool:
    """PR-AUC (average precision) of one score against the positives."""
    curve = calibration.pr_curve(scores, positive)
    return _judge(answer, "a number between 0 and 1", curve.average_precision,
                  "sort by score (highest first), and sum precision × the gain in recall at each distinct score.",
                  f"A random scorer gets about {curve.baseline:.3f}, the share of positives.",
                  [(curve.baseline, "that is a random scorer's AP, the share of positives.")], close(2e-3))


def check_ece(probabilities: Any, labels: Any, answer: Any, bins: int = 15) -> bool:
    """Expected calibration error with ``bins`` equal-width bins of the top-label confidence."""
    rel = calibration.reliability(probabilities, labels, bins)
    p = _array(probabilities)
    y = np.asarray(labels).astype(int)
    overall = abs(float((p.argmax(1) == y).mean()) - float(p.max(1).mean()))
    return _judge(answer, "a number between 0 and 1", rel.ece,
                  f"bin the top-label confidence into {bins} equal bins on [0, 1]; in each, |accuracy − mean "
                  "confidence| weighted by the bin's share of samples; sum.",
                  "Over-confident where confidence exceeds accuracy.",
                  [(overall, "that is one bin for everything: |accuracy − mean confidence| overall. Use the bins."),
                   (rel.mce, "that is the largest bin's gap (MCE); ECE weights each bin by its share.")], close(2e-3))


def check_prior_shift(probabilities: Any, train_prior: Any, target_prior: Any, answer: Any) -> bool:
    """Probabilities for another class prior: p'(c|x) ∝ p(c|x) · π'_c / π_c, rows summing to 1."""
    truth = calibration.prior_shift(probabilities, train_prior, target_prior)
    p = _array(probabilities)
    unnormalised = p * (np.asarray(target_prior) / np.asarray(train_prior))
    return _judge(answer, "probabilities, one row per sample", truth,
                  "multiply each column by π'_c / π_c, then divide each row by its sum.",
                  "Bayes' rule: only the prior changed, so only the prior's factor changes.",
                  [(unnormalised, "now divide each row by its sum, so it is a distribution again."),
                   (calibration.prior_shift(probabilities, target_prior, train_prior),
                    "upside down: multiply by the new prior, divide by the old one.")], close(1e-6), shape=True)

