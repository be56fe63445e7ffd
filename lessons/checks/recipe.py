"""The shared recipe of every exercise check: judge an answer against the truth, tell a known mistake
by its hint, never raise on a wrong or missing answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from procrustes_core import RunHistory

# Columns of a results table that name a setting (a run is paired with another by these).
SETTING_COLUMNS = ("seed", "method", "profile", "ratio", "mixer", "mfw_strength", "mfw_layer", "mfw_schedule",
                   "la_tau")
RIGHT = "✔ Correct"
WRONG = "✘ Not yet"
MISSING = "… Not answered yet"


def _array(answer: Any) -> np.ndarray | None:
    try:
        if hasattr(answer, "detach"):
            answer = answer.detach().cpu().numpy()
        return np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _number(answer: Any) -> float | None:
    a = _array(answer)
    return float(a) if a is not None and a.shape == () and np.isfinite(a) else None


def close(tol: float) -> Callable[[Any, Any], bool]:
    """Numbers (or arrays of the same shape) within ``tol`` of each other."""
    def same(answer: Any, truth: Any) -> bool:
        a, t = _array(answer), np.asarray(truth, dtype=np.float64)
        return a is not None and a.shape == t.shape and bool(np.all(np.abs(a - t) <= tol))
    return same


def same_value(answer: Any, key: Any) -> bool:
    """An answer that names a value: equal as text, or as a number."""
    if str(answer).strip().lower() == str(key).strip().lower():
        return True
    try:
        return abs(float(answer) - float(key)) < 1e-9
    except (TypeError, ValueError):
        return False


def _judge(answer: Any, what: str, truth: Any, hint: str, praise: str = "",
           mistakes: Sequence[tuple[Any, str]] = (), same: Callable[[Any, Any], bool] = close(1e-3),
           shape: bool = False) -> bool:
    """The shared recipe: missing → say what is expected; right → praise; a known mistake → its hint;
    otherwise → the general hint. A mistake is a wrong value (compared with ``same``) or a function of
    the answer that is True for that mistake. ``shape``: first check that an array answer has the
    truth's shape."""
    if answer is None or answer is Ellipsis:
        print(f"{MISSING}: replace None with {what}.")
        return False
    if shape:
        a, t = _array(answer), np.asarray(truth, dtype=np.float64)
        if a is None or a.shape != t.shape:
            print(f"{WRONG}: " + ("expected numbers" if a is None else f"expected shape {t.shape}, got {a.shape}"))
            return False
    if same(answer, truth):
        print(f"{RIGHT}. {praise}".rstrip())
        return True

    def matches(wrong: Any) -> bool:
        try:
            return bool(wrong(answer)) if callable(wrong) else same(answer, wrong)
        except (TypeError, ValueError):
            return False

    reason = next((why for wrong, why in mistakes if matches(wrong)), hint)
    print(f"{WRONG}: {reason}")
    return False


def _signed(truth: float, tol: float, unit: str) -> list[tuple[Callable[[Any], bool], str]]:
    """The mistakes of a signed quantity: the wrong direction, the right direction at the wrong size,
    and a fraction given where points are asked (or the other way round)."""
    def number(a: Any) -> float:
        value = _number(a)
        if value is None:
            raise ValueError
        return value

    mistakes = []
    if unit == "points":
        mistakes.append((lambda a: abs(number(a) - truth / 100) <= tol / 100 and abs(truth) > tol,
                         "that is a fraction; the comparison is in points (× 100)."))
    mistakes += [
        (lambda a: abs(number(a) + truth) <= tol and abs(truth) > tol,
         "the size is right but the direction is not: B minus A, or the other way round?"),
        (lambda a: np.sign(number(a)) == np.sign(truth) and number(a) != 0,
         "the direction is right; the size is not — look at the numbers again."),
        (lambda a: np.sign(number(a)) != np.sign(truth) and truth != 0,
         "the direction is wrong: which of the two came out higher?"),
    ]
    return mistakes


def _tail_mean(history: RunHistory, metric: str, record) -> float:
    return float(np.mean([getattr(record, metric)[c] for c in history.groups[history.tail]]))

