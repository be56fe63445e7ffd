"""Class counts of an imbalanced training set, the groups they form, and seeded subsampling."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ProcrustesError, shown

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
        raise ProcrustesError(f"num_classes={shown(num_classes)}: expected an integer ≥ 2")
    if profile == "custom":
        if counts is None:
            raise ProcrustesError("counts=None: profile 'custom' needs explicit per-class counts")
        if len(counts) != num_classes:
            raise ProcrustesError(
                f"counts={shown(list(counts))}: expected {num_classes} per-class counts, got {len(counts)}"
            )
        if any(int(c) != c or c < 1 for c in counts):
            raise ProcrustesError(f"counts={shown(list(counts))}: every count must be an integer ≥ 1")
        return [int(c) for c in counts]
    if profile not in PROFILES:
        raise ProcrustesError(f"profile={shown(profile)}: expected one of {', '.join(PROFILES)}")
    if not isinstance(n_max, (int, np.integer)) or n_max < 1:
        raise ProcrustesError(f"n_max={shown(n_max)}: expected an integer ≥ 1")
    if not isinstance(ratio, (int, float)) or not math.isfinite(ratio) or ratio < 1:
        raise ProcrustesError(f"ratio={shown(ratio)}: expected a finite number ≥ 1")
    if profile in ("longtail", "exp"):
        found = [int(n_max * (1 / ratio) ** (i / (num_classes - 1))) for i in range(num_classes)]
    else:
        n_major = num_classes // 2
        found = [n_max] * n_major + [int(n_max / ratio)] * (num_classes - n_major)
    return [max(1, int(c)) for c in found]


MANY_ABOVE = 100  # the long-tail literature's groups: many-shot > 100 training samples,
FEW_BELOW = 20  # medium-shot 20-100, few-shot < 20
GROUP_SCHEMES = ("auto", "size", "thirds")


def class_groups(counts: list[int], scheme: str = "auto") -> dict[str, list[int]]:
    """Split classes into the groups results are reported on, from the largest group to the smallest.

    One size: ``all``. Two sizes (step imbalance): ``major`` and ``minor``. More sizes (long-tailed):
    ``size`` gives the literature's ``many`` (> 100 training samples), ``medium`` (20–100) and ``few``
    (< 20), keeping the non-empty ones; ``thirds`` ranks the classes by count and cuts them into
    ``top third`` / ``middle third`` / ``bottom third`` (classes of equal count may fall in two
    thirds). ``auto`` and ``size`` take the literature's groups where those thresholds split the
    classes into at least two, else thirds (a single group would compare nothing).
    """
    if scheme not in GROUP_SCHEMES:
        raise ProcrustesError(f"scheme={shown(scheme)}: expected one of {', '.join(GROUP_SCHEMES)}")
    sizes = sorted(set(counts), reverse=True)
    classes = list(range(len(counts)))
    if len(sizes) == 1:
        return {"all": classes}
    if len(sizes) == 2:
        return {
            "major": [c for c in classes if counts[c] == sizes[0]],
            "minor": [c for c in classes if counts[c] == sizes[1]],
        }
    by_size = {
        "many": [c for c in classes if counts[c] > MANY_ABOVE],
        "medium": [c for c in classes if FEW_BELOW <= counts[c] <= MANY_ABOVE],
        "few": [c for c in classes if counts[c] < FEW_BELOW],
    }
    by_size = {name: members for name, members in by_size.items() if members}
    if scheme in ("size", "auto") and len(by_size) >= 2:
        return by_size
    ranked = sorted(classes, key=lambda c: (-counts[c], c))
    third = len(ranked) / 3
    cut1, cut2 = round(third), round(2 * third)
    thirds = {"top third": sorted(ranked[:cut1]), "middle third": sorted(ranked[cut1:cut2]),
              "bottom third": sorted(ranked[cut2:])}
    return {name: members for name, members in thirds.items() if members}


def head_name(groups: dict[str, list[int]]) -> str:
    """The most frequent group's name (``major``, ``many``, ...): groups run from largest to smallest."""
    return next(iter(groups))


def tail_name(groups: dict[str, list[int]]) -> str:
    """The least frequent group's name (``minor``, ``few``, ...)."""
    return list(groups)[-1]


def head_and_tail(groups: dict[str, list[int]]) -> tuple[list[int], list[int]]:
    """The classes of the most and of the least frequent group: (major, minor) or (many, few)."""
    return groups[head_name(groups)], groups[tail_name(groups)]


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
