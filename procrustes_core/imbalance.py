"""Class counts of an imbalanced training set, the groups they form, and seeded subsampling."""

from __future__ import annotations

import math

import numpy as np

from .errors import ProcrustesError

PROFILES = ("longtail", "exp", "step", "custom")


def class_counts(
    n_max: int,
    num_classes: int,
    profile: str,
    ratio: float,
    counts: list[int] | None = None,
) -> list[int]:
    """Training samples per class, the counts the long-tailed literature uses (CIFAR-10/100-LT).

    - ``longtail`` (alias ``exp``): class ``i`` gets ``int(n_max * (1/ratio) ** (i / (C - 1)))``;
    - ``step``: the first ``C // 2`` classes get ``n_max``, the rest ``int(n_max / ratio)``;
    - ``custom``: ``counts`` as given.
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ProcrustesError(f"num_classes={num_classes!r}: expected an integer ≥ 2")
    if profile == "custom":
        if counts is None:
            raise ProcrustesError("counts=None: profile 'custom' needs explicit per-class counts")
        if len(counts) != num_classes:
            raise ProcrustesError(
                f"counts={list(counts)!r}: expected {num_classes} per-class counts, got {len(counts)}"
            )
        if any(int(c) != c or c < 1 for c in counts):
            raise ProcrustesError(f"counts={list(counts)!r}: every count must be an integer ≥ 1")
        return [int(c) for c in counts]
    if profile not in PROFILES:
        raise ProcrustesError(f"profile={profile!r}: expected one of {', '.join(PROFILES)}")
    if not isinstance(n_max, (int, np.integer)) or n_max < 1:
        raise ProcrustesError(f"n_max={n_max!r}: expected an integer ≥ 1")
    if not isinstance(ratio, (int, float)) or not math.isfinite(ratio) or ratio < 1:
        raise ProcrustesError(f"ratio={ratio!r}: expected a finite number ≥ 1")
    if profile in ("longtail", "exp"):
        found = [int(n_max * (1 / ratio) ** (i / (num_classes - 1))) for i in range(num_classes)]
    else:
        n_major = num_classes // 2
        found = [n_max] * n_major + [int(n_max / ratio)] * (num_classes - n_major)
    return [max(1, int(c)) for c in found]


def class_groups(counts: list[int]) -> dict[str, list[int]]:
    """Split classes into the groups results are reported on.

    One size: ``all``. Two sizes (step imbalance): ``major`` and ``minor``. More sizes
    (long-tailed): ``many`` / ``medium`` / ``few``, thirds of the classes ranked by count.
    """
    sizes = sorted(set(counts), reverse=True)
    classes = list(range(len(counts)))
    if len(sizes) == 1:
        return {"all": classes}
    if len(sizes) == 2:
        return {
            "major": [c for c in classes if counts[c] == sizes[0]],
            "minor": [c for c in classes if counts[c] == sizes[1]],
        }
    ranked = sorted(classes, key=lambda c: (-counts[c], c))
    third = len(ranked) / 3
    cut1, cut2 = round(third), round(2 * third)
    return {
        "many": sorted(ranked[:cut1]),
        "medium": sorted(ranked[cut1:cut2]),
        "few": sorted(ranked[cut2:]),
    }


def head_and_tail(groups: dict[str, list[int]]) -> tuple[list[int], list[int]]:
    """The most and the least frequent group: (major, minor) or (many, few)."""
    names = list(groups)
    return groups[names[0]], groups[names[-1]]


def subsample(labels: np.ndarray, counts: list[int], rng: np.random.Generator) -> np.ndarray:
    """Indices that keep ``counts[c]`` random samples of each class ``c`` (sorted)."""
    chosen = []
    for c, n in enumerate(counts):
        pool = np.flatnonzero(labels == c)
        if n > len(pool):
            raise ProcrustesError(
                f"class {c} needs {n} training samples but the dataset has only {len(pool)}; "
                "lower n_max or raise n_samples"
            )
        chosen.append(rng.choice(pool, size=n, replace=False))
    return np.sort(np.concatenate(chosen))
