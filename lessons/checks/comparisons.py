"""Checks of comparisons between settings: choosing on validation, paired differences, verdicts,
predictions, conclusions and seed noise (lessons 5, 6 and 11, and any lesson that compares)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from procrustes_core.analysis.compare import PairedComparison, mean_interval

from .recipe import (
    MISSING,
    RIGHT,
    SETTING_COLUMNS,
    WRONG,
    _judge,
    _number,
    _signed,
    close,
    same_value,
)

# ---------------------------------------------------------------- lesson 5: remedies side by side


def _best(frame: Any, by: str, value: str) -> set[str]:
    means = frame.groupby(by)[value].mean()
    return {str(k) for k, v in means.items() if v >= means.max() - 1e-12}


def check_best_method(frame: Any, answer: Any, value: str = "val_balanced_acc", by: str = "method",
                      test_value: str = "balanced_acc") -> bool:
    """The row label of ``frame`` (a results table) with the highest mean ``value`` — by default on the
    validation split, where settings are chosen; the test split only reports the chosen one."""
    known = {str(k) for k in frame[by].unique()}
    on_test = _best(frame, by, test_value) if test_value in frame and test_value != value else set()
    return _judge(answer, f"the name of a {by}", _best(frame, by, value),
                  f"group the table by {by!r} and compare the mean {value!r}."
                  if str(answer) in known else f"{answer!r} is not a {by} in the table.",
                  "Chosen on validation; its test score is then an honest estimate.",
                  [(lambda a: str(a) in on_test, f"that is the best on {test_value!r} (the test split); choose on "
                                                 f"{value!r}, the validation split.")],
                  same=lambda a, winners: str(a) in winners)


def check_sampling_probability(counts: Sequence[int], cls: int, answer: Any) -> bool:
    """Class-balanced sampling: the chance that one draw is a given sample of class ``cls``."""
    truth = 1 / (len(counts) * counts[cls])
    return _judge(answer, "a probability", truth, "first pick a class (each equally likely), then a sample inside it.",
                  "Each class is drawn with chance 1/C, then a sample uniformly within it.",
                  [(1 / sum(counts), "that is instance-balanced (plain) sampling.")], close(truth * 1e-3))


def check_prior_correctors(candidates: Sequence[str], answer: Any) -> bool:
    """Which of the named methods correct for the class prior (the catalogue's ``corrects_prior``)."""
    from procrustes_core.methods.catalogue import METHODS

    unknown = [n for n in candidates if n not in METHODS]
    if unknown:
        print(f"{WRONG}: {unknown[0]!r} is not a method; see METHODS.")
        return False
    truth = {n for n in candidates if METHODS[n].corrects_prior}
    given = {answer} if isinstance(answer, str) else set(answer or ())
    hint = ("answer with names from the candidate list." if given - set(candidates) else
            f"{len(truth - given)} missing and {len(given - truth)} too many; ask of each: does it re-balance the "
            "classes (sampling, weights, or the prior in the logits)?")
    return _judge(answer, "a set of method names", truth, hint,
                  "A run corrects for the prior once: two such methods would over-correct.",
                  same=lambda a, t: ({a} if isinstance(a, str) else set(a)) == t)


# ---------------------------------------------------------------- lesson 6: your own experiment


def check_best_setting(frame: Any, by: str, answer: Any, value: str = "val_balanced_acc",
                       test_value: str = "balanced_acc") -> bool:
    """The value of setting ``by`` with the highest mean ``value`` (validation, by default) over the rest
    of the grid."""
    on_test = _best(frame, by, test_value) if test_value in frame and test_value != value else set()
    return _judge(answer, f"a value of {by}", _best(frame, by, value),
                  f"group by {by!r} and take the mean of {value!r}; pick the largest.",
                  "Chosen on validation; confirm it on fresh seeds before you trust a small lead.",
                  [(lambda a: any(same_value(a, w) for w in on_test),
                    f"that is the best on {test_value!r} (the test split); choose on {value!r}.")],
                  same=lambda a, winners: any(same_value(a, w) for w in winners))


def check_paired_gain(frame: Any, setting: str, treated: Any, control: Any, answer: Any,
                      value: str = "balanced_acc") -> bool:
    """Mean over seeds of value(treated) − value(control), pairing runs by seed and other settings."""
    others = [c for c in frame.columns if c in SETTING_COLUMNS and c != setting]
    a = frame[frame[setting] == treated].set_index(others)[value]
    b = frame[frame[setting] == control].set_index(others)[value]
    diff = (a - b).dropna()
    if diff.empty:
        print(f"{WRONG}: no pairs found for {setting}={treated!r} against {control!r}.")
        return False
    truth = float(diff.mean())
    return _judge(answer, "the mean paired difference", truth,
                  "pair runs that share seed and the other settings, subtract, then average.",
                  f"{int((diff > 0).sum())} of {len(diff)} pairs favour {treated!r}.",
                  [(-truth, "the sign: treated minus control.")])


_BEYOND = {"beyond", "beyond noise", "beyond seed noise", "true"}
_WITHIN = {"within", "within noise", "within seed noise", "false"}


def _noise_said(answer: Any) -> str | None:
    """'beyond noise' or 'within noise' when the answer says exactly one of them (True / False, or the
    words of the comparison's sentence); None for anything else — a sentence is not parsed for keywords,
    so a negation can never turn into its opposite."""
    if isinstance(answer, (bool, np.bool_)):
        return "beyond noise" if answer else "within noise"
    text = " ".join(str(answer).strip().lower().replace("-", " ").split()).rstrip(".")
    return "beyond noise" if text in _BEYOND else "within noise" if text in _WITHIN else None


def _direction_said(answer: Any) -> str | None:
    text = str(answer).strip().lower().rstrip(".")
    return text if text in ("higher", "lower") else None


CONCLUSION_FIELDS = ("direction", "difference", "wins", "beyond_noise")


def check_conclusion(answer: Any, comparison: PairedComparison) -> bool:
    """A conclusion graded field by field against the comparison, never by keywords: ``answer`` is a dict
    with ``direction`` ('higher' or 'lower': B against A), ``difference`` (B − A in points, to 0.05),
    ``wins`` (seeds B came out ahead on) and ``beyond_noise`` (True / False, or 'beyond' / 'within').
    Right only when every field agrees with the comparison, so a claim that contradicts it is never
    accepted. A ``reasoning`` entry (free text) is shown back for a reader and not graded."""
    if answer is None or answer is Ellipsis:
        print(f"{MISSING}: replace None with a dict of {', '.join(CONCLUSION_FIELDS)} (and your reasoning).")
        return False
    if not isinstance(answer, dict):
        print(f"{WRONG}: write the conclusion as a dict with the keys {', '.join(CONCLUSION_FIELDS)}; your "
              "sentences go under 'reasoning'.")
        return False
    missing = [k for k in CONCLUSION_FIELDS if answer.get(k) is None]
    if missing:
        print(f"{MISSING}: the conclusion has no {missing[0]!r} yet.")
        return False
    mean, truth_noise = comparison.mean, ("beyond noise" if comparison.beyond_noise else "within noise")
    difference, wins = _number(answer["difference"]), _number(answer["wins"])
    direction, noise = _direction_said(answer["direction"]), _noise_said(answer["beyond_noise"])
    problems = []
    if direction is None:
        problems.append("direction: write 'higher' or 'lower' (B against A).")
    elif mean != 0 and direction != ("higher" if mean > 0 else "lower"):
        problems.append(f"direction: which of the two came out higher on average, {comparison.b} or "
                        f"{comparison.a}?")
    if noise is None:
        problems.append("beyond_noise: write True or False ('beyond' or 'within').")
    elif noise != truth_noise:
        problems.append("beyond_noise: the verdict is the interval's — does it contain 0?")
    if difference is None:
        problems.append(f"difference: one signed number in {comparison.unit}.")
    elif abs(difference - mean) > 0.05 + 1e-9:
        problems.append("difference: " + next(why for test, why in _signed(mean, 0.05, comparison.unit)
                                              if _safe(test, difference)))
    if wins is None or wins != comparison.wins:
        problems.append(f"wins: count the seeds on which {comparison.b} came out above {comparison.a}.")
    reasoning = str(answer.get("reasoning") or "").strip()
    if reasoning:
        print(f"Your reasoning (for a reader; not graded): {reasoning}")
    if problems:
        print(f"{WRONG}: " + " ".join(problems))
        return False
    print(f"{RIGHT}. Direction, size, win count and verdict agree with the comparison: a claim someone else can "
          "check.")
    return True


def _safe(test: Any, value: float) -> bool:
    try:
        return bool(test(value))
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------- any lesson: predictions and comparisons

# With this variable naming a file, every graded prediction appends what the run measured and the range the
# check accepts, one JSON line per call (``benchmarks/lesson_times.py --ship`` turns them into the instructor
# layer's expected ranges). Unset, nothing is written.
RECORD_PREDICTIONS = "PROCRUSTES_RECORD_PREDICTIONS"


def _record(kind: str, what: str, unit: str, mean: float, lo: float, hi: float, accepted: tuple[float, float],
            n: int) -> None:
    path = os.environ.get(RECORD_PREDICTIONS, "").strip()
    if not path:
        return
    row = {"kind": kind, "what": what, "unit": unit, "mean": mean, "lo": None if math.isnan(lo) else lo,
           "hi": None if math.isnan(hi) else hi, "accepted": list(accepted), "seeds": n}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")


def check_prediction(measured: float | PairedComparison, prediction: Any, what: str = "the change",
                     unit: str = "points", tolerance: float = 5.0) -> bool:
    """Predict-then-run: a prediction written before the cell that measured ``measured``. Right when it
    has the measured direction and is within ``tolerance`` of its size. ``measured`` is best a paired
    comparison over seeds: the prediction is then graded against the mean over the seeds, and one that
    lies inside the mean's 95 % interval is right too (the seeds cannot tell it from the mean) — one
    seed is a picture, not a claim."""
    if isinstance(measured, PairedComparison):
        mean, lo, hi = measured.interval
        said = f"the mean over {measured.n} seeds is {mean:+.1f} [{lo:+.1f}, {hi:+.1f}]"
    else:
        mean, lo, hi = float(measured), math.nan, math.nan
        said = f"the run measured {mean:+.1f}"
    accepted = (mean - tolerance, mean + tolerance) if math.isnan(lo) else (min(lo, mean - tolerance),
                                                                          max(hi, mean + tolerance))
    _record("points", what, unit, mean, lo, hi, accepted, getattr(measured, "n", 1))
    value = _number(prediction)
    if prediction is not None and value is None:
        print(f"{WRONG}: write your prediction as one number ({unit}).")
        return False
    if value is None:
        print(f"{MISSING}: write your prediction of {what} (a number, in {unit}) before you run the cell that "
              "measures it.")
        return False
    inside = lo <= value <= hi
    same_direction = np.sign(value) == np.sign(mean) or (abs(mean) <= tolerance and abs(value) <= tolerance)
    if inside or (same_direction and abs(value - mean) <= tolerance):
        print(f"{RIGHT}: you predicted {value:+g} {unit}; {said}. Direction and size.")
        return True
    if not same_direction:
        print(f"{WRONG}: you predicted {value:+g} {unit}; {said}: the direction differs. What did your prediction "
              "leave out?")
        return False
    print(f"{WRONG}: the direction was right ({value:+g} {unit}; {said}) but the size is off by "
          f"{abs(value - mean):.1f}; more than {tolerance:g} {unit}.")
    return False


def check_difference(comparison: PairedComparison, answer: Any) -> bool:
    """The mean paired difference B − A of a comparison, in its units (points for accuracies)."""
    truth = comparison.mean
    tol = 0.05 + 1e-9
    return _judge(answer, f"a signed number in {comparison.unit} ({comparison.b} minus {comparison.a})", truth,
                  "pair the seeds, subtract A from B seed by seed, average, and scale to points.",
                  f"{comparison.wins} of {comparison.n} seeds favour {comparison.b}.",
                  _signed(truth, tol, comparison.unit), close(tol))


def check_verdict(comparison: PairedComparison, answer: Any) -> bool:
    """Whether the 95 % interval of the paired difference excludes 0: 'beyond noise' or 'within noise'
    (or True / False). Anything else is not read, so a negated phrase never passes for its opposite."""
    truth = "beyond noise" if comparison.beyond_noise else "within noise"
    _, lo, hi = comparison.interval
    if answer is not None and answer is not Ellipsis and _noise_said(answer) is None:
        print(f"{WRONG}: answer 'beyond noise' or 'within noise' (or True / False), nothing else.")
        return False
    return _judge(answer, "'beyond noise' or 'within noise'", truth,
                  "look at the interval: does it contain 0?",
                  "The verdict is the interval's, not the mean's: a mean can be large and the interval still "
                  "contain 0 on few seeds.",
                  [(lambda a: _noise_said(a) == "beyond noise" and lo <= 0 <= hi,
                    "the mean is not 0, but the interval reaches across 0.")],
                  same=lambda a, t: _noise_said(a) == t)


def check_wins(comparison: PairedComparison, answer: Any) -> bool:
    """On how many seeds B came out higher than A."""
    ties = sum(d == 0 for d in comparison.differences)
    return _judge(answer, "a whole number of seeds", comparison.wins,
                  "count the seeds whose difference B − A is above 0.", "",
                  [(comparison.n - comparison.wins - ties, "that counts the seeds A won.")], close(0))



# ---------------------------------------------------------------- lesson 11: seed noise


def check_spread(values: Sequence[float], answer: Any) -> bool:
    """The standard deviation over seeds (the sample's, ddof = 1)."""
    x = np.asarray(values, dtype=np.float64)
    truth = float(x.std(ddof=1))
    return _judge(answer, "a number", truth, "the sample standard deviation: divide by n − 1.",
                  "That is how far one seed typically lands from the mean.",
                  [(float(x.std(ddof=0)), "that divides by n; the sample standard deviation divides by n − 1."),
                   (float(x.max() - x.min()), "that is the range (highest − lowest), not the standard deviation.")],
                  close(1e-4))


def check_half_width(values: Sequence[float], answer: Any, confidence: float = 0.95) -> bool:
    """Half the width of the 95 % t-interval of the mean of ``values``: t · sd / √n."""
    x = np.asarray(values, dtype=np.float64)
    mean, lo, hi = mean_interval(x, confidence)
    truth = (hi - lo) / 2
    sd = float(x.std(ddof=1))
    return _judge(answer, "a number (half the interval's width)", truth,
                  "t_{0.975, n−1} × sd / √n (scipy.stats.t.ppf gives t).",
                  "More seeds shrink it like 1/√n.",
                  [(1.96 * sd / math.sqrt(len(x)), "that uses the normal 1.96; with few seeds use Student's t."),
                   (sd, "that is one seed's spread; the mean of n seeds varies less, by √n."),
                   (1.96 * sd, "divide by √n: the interval is of the mean.")], close(1e-4))


def check_times_prediction(values: Sequence[float], prediction: Any, what: str = "the ratio",
                           factor: float = math.sqrt(2)) -> bool:
    """Predict-then-run for a ratio ("how many times larger"), graded against the mean over seeds of
    ``values``: right within a ``factor`` either way of the mean, or inside the mean's 95 % interval."""
    mean, lo, hi = mean_interval(values)
    _record("times", what, "times", mean, lo, hi, (min(lo, mean / factor), max(hi, mean * factor)), len(values))
    value = _number(prediction)
    if prediction is not None and (value is None or value <= 0):
        print(f"{WRONG}: write your prediction as one positive number (times).")
        return False
    if value is None:
        print(f"{MISSING}: write your prediction of {what} (a number of times) before you run the cell that "
              "measures it.")
        return False
    said = f"the mean over {len(values)} seeds is {mean:.1f}× [{lo:.1f}, {hi:.1f}]"
    if mean / factor <= value <= mean * factor or lo <= value <= hi:
        print(f"{RIGHT}: you predicted {value:g}×; {said}.")
        return True
    print(f"{WRONG}: you predicted {value:g}×; {said}: too {'high' if value > mean else 'low'} by more than a factor "
          f"{factor:.2g}. What did your prediction leave out?")
    return False
