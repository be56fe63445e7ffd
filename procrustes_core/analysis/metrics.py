"""Per-class metrics from predictions: accuracy, precision, recall, F1, confusion, group means."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> np.ndarray:
    """``m[i, j]`` = samples of true class ``i`` predicted as class ``j``."""
    flat = y_true.long() * num_classes + y_pred.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes).cpu().numpy()


def per_class_scores(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall (per-class accuracy), F1 and support from a confusion matrix.

    A class never predicted has precision 0, and a class with no samples has recall 0, as
    scikit-learn reports with ``zero_division=0``.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(confusion)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def accuracy(confusion: np.ndarray) -> float:
    total = np.asarray(confusion).sum()
    return float(np.trace(confusion) / total) if total else 0.0


def balanced_accuracy(confusion: np.ndarray) -> float:
    """Mean of the per-class recalls over the classes that have samples."""
    scores = per_class_scores(confusion)
    present = scores["support"] > 0
    return float(scores["recall"][present].mean()) if present.any() else 0.0


def per_class_mean(values: torch.Tensor, labels: torch.Tensor, num_classes: int) -> np.ndarray:
    """Mean of ``values`` over the samples of each class (0 for a class with no samples)."""
    labels = labels.long()
    sums = torch.zeros(num_classes, dtype=torch.float64, device=values.device).index_add_(0, labels, values.double())
    sizes = torch.bincount(labels, minlength=num_classes).double()
    return (sums / sizes.clamp(min=1)).cpu().numpy()


def group_means(per_class: list[float] | np.ndarray, groups: dict[str, list[int]]) -> dict[str, float]:
    """Mean of a per-class quantity over each group (major / minor, many / medium / few)."""
    values = np.asarray(per_class, dtype=np.float64)
    return {name: float(values[members].mean()) for name, members in groups.items() if members}


@dataclass
class Scores:
    """Every per-class and overall score of one set of predictions (one split, one post-hoc setting)."""

    confusion: np.ndarray  # rows: true class, columns: predicted class
    precision: np.ndarray
    recall: np.ndarray  # per-class accuracy
    f1: np.ndarray
    support: np.ndarray
    accuracy: float
    balanced_acc: float

    @classmethod
    def of(cls, confusion: np.ndarray) -> Scores:
        per_class = per_class_scores(confusion)
        return cls(np.asarray(confusion), per_class["precision"], per_class["recall"], per_class["f1"],
                   per_class["support"], accuracy(confusion), balanced_accuracy(confusion))

    @classmethod
    def from_predictions(cls, y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> Scores:
        return cls.of(confusion_matrix(y_true, y_pred, num_classes))

    def group_recall(self, groups: dict[str, list[int]]) -> dict[str, float]:
        """Mean per-class accuracy of each group (major / minor, many / medium / few)."""
        return group_means(self.recall, groups)
