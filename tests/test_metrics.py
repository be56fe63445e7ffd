"""Per-class metrics agree with scikit-learn on fixed predictions."""

import numpy as np
import torch
from sklearn import metrics as skm

from procrustes_core.analysis.metrics import (
    accuracy,
    balanced_accuracy,
    confusion_matrix,
    group_means,
    per_class_mean,
    per_class_scores,
)

Y_TRUE = torch.tensor([0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3])
Y_PRED = torch.tensor([0, 0, 1, 0, 1, 1, 0, 0, 0, 3, 1, 3])  # class 2 never predicted


def test_confusion_matrix_matches_sklearn():
    ours = confusion_matrix(Y_TRUE, Y_PRED, 4)
    assert (ours == skm.confusion_matrix(Y_TRUE, Y_PRED, labels=range(4))).all()


def test_precision_recall_f1_match_sklearn_with_zero_division_0():
    scores = per_class_scores(confusion_matrix(Y_TRUE, Y_PRED, 4))
    p, r, f, s = skm.precision_recall_fscore_support(Y_TRUE, Y_PRED, labels=range(4), zero_division=0)
    np.testing.assert_allclose(scores["precision"], p)
    np.testing.assert_allclose(scores["recall"], r)
    np.testing.assert_allclose(scores["f1"], f)
    np.testing.assert_array_equal(scores["support"], s)


def test_accuracy_and_balanced_accuracy_match_sklearn():
    confusion = confusion_matrix(Y_TRUE, Y_PRED, 4)
    assert accuracy(confusion) == skm.accuracy_score(Y_TRUE, Y_PRED)
    assert np.isclose(balanced_accuracy(confusion), skm.balanced_accuracy_score(Y_TRUE, Y_PRED))


def test_per_class_mean_and_group_means():
    values = torch.tensor([1.0, 3.0, 10.0, 5.0])
    labels = torch.tensor([0, 0, 1, 2])
    means = per_class_mean(values, labels, 4)
    np.testing.assert_allclose(means, [2.0, 10.0, 5.0, 0.0])
    assert group_means(means, {"major": [0, 1], "minor": [2, 3]}) == {"major": 6.0, "minor": 2.5}
