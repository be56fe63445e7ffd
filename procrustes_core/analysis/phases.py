"""The phases of imbalanced training in a history: the minor classes first under-fit, then over-fit.

    under-fit   the tail group's training accuracy is below half the head group's
                (``UNDERFIT_FRACTION``): most minor-class training samples still go to major classes
    over-fit    the tail group is fitted (training accuracy ≥ ``FITTED``) and its train − test gap is
                at least ``OVERFIT_EXCESS_GAP`` larger than the head group's: it memorised its few samples

Head and tail are the most and the least frequent group (major / minor, many / few). The plots
shade these spans, the narrator states them, and the lessons' checks use the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from .history import RunHistory

UNDERFIT_FRACTION = 0.5
FITTED = 0.9
OVERFIT_EXCESS_GAP = 0.2


@dataclass
class Phase:
    """A named span of epochs (1-based, inclusive) and what marks it."""

    name: str
    first_epoch: int
    last_epoch: int
    description: str


def underfit_epochs(history: RunHistory) -> list[int]:
    """Every epoch (1-based) in which the tail group's training accuracy is below half the head's."""
    head, tail = history.head_tail("train_acc")
    return [r.epoch for r, h, t in zip(history.records, head, tail) if t < UNDERFIT_FRACTION * h]


def overfit_epochs(history: RunHistory) -> list[int]:
    """Every epoch in which the tail group is fitted but generalises much worse than the head group."""
    head_train, tail_train = history.head_tail("train_acc")
    head_test, tail_test = history.head_tail("test_acc")
    return [r.epoch for r, ht, tt, hs, ts in zip(history.records, head_train, tail_train, head_test, tail_test)
            if tt >= FITTED and (tt - ts) - (ht - hs) >= OVERFIT_EXCESS_GAP]


def _first_span(flagged: list[int], evaluated: list[int]) -> tuple[int, int] | None:
    """The first run of ``flagged`` epochs that follow one another among the ``evaluated`` ones (with
    ``eval_every`` > 1 the records are epochs 3, 6, 9 ...)."""
    if not flagged:
        return None
    marked = set(flagged)
    start = evaluated.index(flagged[0])
    last = flagged[0]
    for epoch in evaluated[start + 1:]:
        if epoch not in marked:
            break
        last = epoch
    return flagged[0], last


def underfit_span(history: RunHistory) -> tuple[int, int] | None:
    """The first unbroken run of under-fit epochs (among the evaluated ones), as (first, last), or None."""
    return _first_span(underfit_epochs(history), [r.epoch for r in history.records])


def overfit_span(history: RunHistory) -> tuple[int, int] | None:
    """From the first over-fit epoch to the last one, or None."""
    found = overfit_epochs(history)
    return (found[0], found[-1]) if found else None


def find_phases(history: RunHistory) -> list[Phase]:
    """The under-fitting and the over-fitting phase of the tail group; either may be absent, and a
    balanced run (one group) has neither."""
    if len(history.groups) < 2 or not history.records:
        return []
    head, tail = history.head, history.tail
    phases = []
    span = underfit_span(history)
    if span:
        phases.append(Phase("under-fit", *span, f"{tail}-class training accuracy below half of the {head} classes'"))
    span = overfit_span(history)
    if span:
        phases.append(Phase("over-fit", *span, f"{tail} classes fitted on training data, their test accuracy "
                                               f"far below their training accuracy (much more than for {head})"))
    return phases
