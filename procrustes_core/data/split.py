"""From labelled arrays to a pool: classes named and ordered, a stratified balanced test split, and
features standardised on the training split only. No torch.

Used by the datasets shipped in packages (``shipped.py``) and by a learner's own files (``yours.py``).
Classes are ordered from the most to the fewest samples (ties by name), so the natural minor classes stay
the minor ones when a profile reshapes the imbalance (``step``: the first half of the classes are major).
"""

from __future__ import annotations

import numpy as np

from ..errors import ProcrustesError
from .loaders import POOL_SEED, Pool

TEST_SHARE = 0.2  # of the smallest class, taken from every class: a balanced test split
MIN_PER_CLASS = 2  # one test sample and one training sample
MAX_CLASSES = 100  # classes of a file: more is a number to predict, not a class


def _sort_key(value: object) -> tuple:
    """Numbers before text, numbers by value (2 before 10), text by its letters."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def label_codes(labels: np.ndarray, where: str) -> tuple[np.ndarray, list[str]]:
    """Labels of any type as class indices, and the class names, most frequent class first; or one line
    saying why ``labels`` cannot be classes (one class, too many classes, too few samples of one)."""
    values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if len(values) < 2:
        only = f" (every label is {str(values[0])!r})" if len(values) else ""
        raise ProcrustesError(f"{where}: one class only{only}; a classifier needs at least 2")
    if len(values) > MAX_CLASSES:
        raise ProcrustesError(f"{where}: {len(values)} distinct labels, at most {MAX_CLASSES} classes "
                              "(is the label a number to predict rather than a class?)")
    plain = [v.item() if hasattr(v, "item") else v for v in values]
    order = sorted(range(len(values)), key=lambda i: (-int(counts[i]), _sort_key(plain[i])))
    fewest = int(np.argmin(counts))
    if counts[fewest] < MIN_PER_CLASS:
        raise ProcrustesError(f"{where}: class {_name(values[fewest])!r} has {int(counts[fewest])} sample; the "
                              f"splits need at least {MIN_PER_CLASS} per class (one to test, one to train)")
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return rank[inverse.reshape(-1)], [_name(values[i]) for i in order]


def _name(value: object) -> str:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def labelled_pool(name: str, x: np.ndarray, codes: np.ndarray, class_names: list[str], kind: str,
                  test_share: float = TEST_SHARE) -> Pool:
    """A pool of ``x`` (float32) and class indices: the same number of test samples from every class
    (``test_share`` of the smallest class, at least one), the rest for training; standardised per
    feature (tables) or per channel (signals, images) with the training split's mean and spread."""
    counts = np.bincount(codes, minlength=len(class_names))
    per_class = max(1, int(round(test_share * int(counts.min()))))
    rng = np.random.default_rng(POOL_SEED)
    test = np.zeros(len(codes), dtype=bool)
    for c in range(len(class_names)):
        test[rng.permutation(np.flatnonzero(codes == c))[:per_class]] = True
    x = np.asarray(x, dtype=np.float32)
    x_train, x_test = x[~test], x[test]
    axes = (0,) if kind == "vector" else (0, *range(2, x.ndim))
    mean = x_train.mean(axis=axes, keepdims=True, dtype=np.float64).astype(np.float32)
    std = x_train.std(axis=axes, keepdims=True, dtype=np.float64).astype(np.float32)
    std[std < 1e-6] = 1.0  # a constant feature stays 0, never a division by zero
    x_train = (x_train - mean) / std
    x_test = (x_test - mean) / std
    return Pool(name, np.ascontiguousarray(x_train), codes[~test], np.ascontiguousarray(x_test), codes[test],
                list(class_names), kind)
