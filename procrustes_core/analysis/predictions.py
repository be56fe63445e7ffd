"""Predict, then run: questions a run answers, and the grade of a learner's prediction.

    question = QUESTIONS["minor-half"]
    answer = question.truth(history)          # e.g. 11 (an epoch), or None when never reached
    text = grade("minor-half", history, 8)    # "You said 8; it happened at epoch 11 (3 later) — ..."
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .history import RunHistory


@dataclass(frozen=True)
class Question:
    text: str  # asked before Train
    unit: str  # what the answer is: "epoch", "accuracy", "times"
    truth: Callable[[RunHistory], float | None]
    close: float  # how near counts as a good prediction


def _minor_half(history: RunHistory) -> float | None:
    _, tail = history.head_tail("train_acc")
    return next((r.epoch for r, t in zip(history.records, tail) if t >= 0.5), None)


def _minor_test(history: RunHistory) -> float | None:
    return history.last.group_test_acc.get(history.tail) if history.last else None


def _gradient_peak(history: RunHistory) -> float | None:
    ratios = history.gradient_ratio()
    return max(ratios) if ratios else None


QUESTIONS: dict[str, Question] = {
    "minor-half": Question("By which epoch will the minor classes reach 50 % training accuracy?", "epoch",
                           _minor_half, 2),
    "minor-test": Question("What test accuracy will the minor classes reach at the end (0 to 1)?", "accuracy",
                           _minor_test, 0.1),
    "gradient-peak": Question("At most, how many times larger than the major classes' will the minor classes' "
                              "feature gradients be?", "times", _gradient_peak, 0.5),
}


def grade(key: str, history: RunHistory, prediction: float) -> str:
    """One sentence: the prediction, what the run did, and how near the prediction was."""
    question = QUESTIONS[key]
    truth = question.truth(history)
    if truth is None:
        return (f"You predicted {prediction:g}; in this run the minor classes never reached 50 % training accuracy "
                f"in {history.last.epoch if history.last else 0} epochs.")
    if question.unit == "times":
        near = truth / 2 ** question.close <= prediction <= truth * 2 ** question.close
        shown = f"{truth:.0f}×"
    elif question.unit == "accuracy":
        near = abs(prediction - truth) <= question.close
        shown = f"{truth:.2f}"
    else:
        near = abs(prediction - truth) <= question.close
        shown = f"epoch {truth:.0f}"
    verdict = "close" if near else ("too high" if prediction > truth else "too low")
    return f"You predicted {prediction:g}; the run gave {shown} — {verdict}."
