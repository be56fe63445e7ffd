"""Find the phases of imbalanced training in a history: minor classes under-fit, then over-fit."""

from __future__ import annotations

from dataclasses import dataclass

from .history import RunHistory

UNDERFIT_FRACTION = 0.5  # minor training accuracy below half the major classes' counts as under-fit
FIT = 0.99  # training accuracy at which a group counts as fitted
OVERFIT_GAP = 0.10  # fitted, yet test accuracy this far below the major classes'


@dataclass
class Phase:
    """A named span of epochs (1-based, inclusive) and what marks it."""

    name: str
    first_epoch: int
    last_epoch: int
    description: str


def group_series(history: RunHistory, metric: str = "train_acc") -> tuple[list[float], list[float]]:
    """Per-epoch mean of ``metric`` over the head group (major / many) and the tail group (minor / few)."""
    by_group = history.group_series(metric)
    names = list(by_group)
    return by_group[names[0]], by_group[names[-1]]


def find_phases(history: RunHistory) -> list[Phase]:
    """The under-fitting phase (minor training accuracy below half the major classes') and the
    over-fitting phase (minor classes fitted on training data, test accuracy well below the
    major classes'). Either may be absent; a balanced run has neither."""
    if len(history.groups) < 2 or not history.records:
        return []
    epochs = [r.epoch for r in history.records]
    head_train, tail_train = group_series(history, "train_acc")
    head_test, tail_test = group_series(history, "test_acc")
    phases = []
    under = [i for i, (h, t) in enumerate(zip(head_train, tail_train)) if t < UNDERFIT_FRACTION * h]
    if under:
        first = last = under[0]
        while last + 1 < len(epochs) and last + 1 in under:
            last += 1
        phases.append(Phase("under-fit", epochs[first], epochs[last],
                            "minor-class training accuracy below half of the major classes'"))
    over = [i for i in range(len(epochs))
            if tail_train[i] >= FIT and tail_test[i] < head_test[i] - OVERFIT_GAP]
    if over:
        phases.append(Phase("over-fit", epochs[over[0]], epochs[over[-1]],
                            "minor classes fitted on training data, test accuracy well below the major classes'"))
    return phases
