"""Exercise checks for the lessons: each ``check_...()`` computes the right answer from the run or the
inputs with the core, compares, and prints feedback that points the way without revealing it.

Every check is one row of the same recipe (``_judge``): the truth, the usual mistakes each with its
hint, a general hint, and a word of praise. A mistake is a wrong value or a test of the answer (a
function), so a check tells a wrong direction from a wrong size. Every check returns True or False
and never raises on a wrong or missing answer, so a lesson always runs to the end.

Predict-then-run: ``check_prediction`` grades a prediction the learner wrote before the cell that
answers it — its direction and its size — against what the run then measured.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from procrustes_core import RunHistory
from procrustes_core.analysis import calibration
from procrustes_core.analysis.compare import PairedComparison, mean_interval
from procrustes_core.analysis.metrics import accuracy, balanced_accuracy
from procrustes_core.analysis.phases import underfit_span
from procrustes_core.data.imbalance import class_counts
from procrustes_core.methods.mfw import count_weights

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


# ---------------------------------------------------------------- lesson 1: what imbalance does


def check_step_counts(n_max: int, ratio: float, num_classes: int, answer: Any) -> bool:
    """The per-class training counts of step imbalance."""
    return _judge(answer, "a list of counts, one per class", class_counts(n_max, num_classes, "step", ratio),
                  "which classes are major, and how is n_max / ratio rounded?",
                  "Half the classes keep n_max, the other half n_max / ratio (rounded down).",
                  [(class_counts(n_max, num_classes, "longtail", ratio),
                    "those are long-tailed counts; step imbalance has only two sizes.")], close(0), shape=True)


def check_balanced_accuracy(history: RunHistory, answer: Any) -> bool:
    """Balanced accuracy from the last epoch's confusion matrix."""
    confusion = np.asarray(history.last.confusion, dtype=float)
    return _judge(answer, "a number between 0 and 1", balanced_accuracy(confusion),
                  "divide each diagonal entry by its row sum (the true class), then average.",
                  "It is the mean of the per-class recalls: every class counts the same.",
                  [(accuracy(confusion), "that is overall accuracy; average the recall of each class instead.")])


def check_balanced_from_predictions(y_true: Any, y_pred: Any, answer: Any) -> bool:
    """Balanced accuracy of a set of predictions: the mean over the classes present of their recall."""
    t, p = np.asarray(y_true).astype(int).ravel(), np.asarray(y_pred).astype(int).ravel()
    k = int(max(t.max(), p.max())) + 1
    confusion = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    return _judge(answer, "a number between 0 and 1", balanced_accuracy(confusion),
                  "for each class present, the share of its samples predicted as it; then the mean over classes.",
                  "It does not depend on how many samples each class has — only on each class's recall.",
                  [(accuracy(confusion), "that is plain accuracy, which the class shares weigh; average the recalls.")])


def check_prior_weighted_accuracy(history: RunHistory, answer: Any) -> bool:
    """Accuracy the model would show on a test set distributed like the imbalanced training set."""
    counts = np.asarray(history.counts, dtype=float)
    return _judge(answer, "a number between 0 and 1", float((counts / counts.sum()) @ np.asarray(history.last.recall)),
                  "weight the recall of class c by its share n_c / N of the training set, then sum.",
                  "Weighted by the training prior, the minor classes barely count.",
                  [(history.last.balanced_acc,
                    "that is the balanced accuracy; weight each recall by n_c / N instead.")])


def check_most_confused(history: RunHistory, answer: Any) -> bool:
    """The (true class, predicted class) pair with the most test mistakes."""
    confusion = np.asarray(history.last.confusion, dtype=float)
    np.fill_diagonal(confusion, -1)
    pairs = {(int(i), int(j)) for i, j in zip(*np.nonzero(confusion == confusion.max()))}

    def pair(answer: Any) -> tuple[int, int] | None:
        try:
            return int(answer[0]), int(answer[1])
        except (TypeError, ValueError, IndexError):
            return None

    def hits(answer: Any, wanted: set) -> bool:
        return pair(answer) in wanted

    swapped = {(j, i) for i, j in pairs}
    return _judge(answer, "a pair (true class, predicted class)", pairs,
                  "give two class indices (true, predicted): the largest entry off the diagonal of the counts.",
                  "Rows are true classes, columns predictions.",
                  [(swapped, "close: rows are the true class, columns the prediction.")], hits)


# ---------------------------------------------------------------- lesson 2: under-fit, then over-fit


def check_underfit_epochs(history: RunHistory, answer: Any) -> bool:
    """How many epochs the minor group's training accuracy stayed below half the major group's at the
    start of training — the span the curves shade as under-fit (``phases.underfit_span``)."""
    span = underfit_span(history)
    truth = 0 if span is None else span[1] - span[0] + 1
    return _judge(answer, "a whole number of epochs", truth,
                  "compare the two group means of train_acc epoch by epoch from the start, and count the "
                  "epochs until minor ≥ 0.5 × major.", "That is the under-fitting phase the curves shade.",
                  same=close(0))


def check_generalisation_gap(history: RunHistory, answer: Any) -> bool:
    """The minor group's training minus test accuracy at the last epoch."""
    truth = _tail_mean(history, "train_acc", history.last) - _tail_mean(history, "test_acc", history.last)
    return _judge(answer, "a number (training minus test accuracy)", truth,
                  "use the minor-group means of train_acc and test_acc of the last record.",
                  "A large gap with training accuracy near 1 is over-fitting.",
                  [(-truth, "the sign: training minus test.")])


def check_first_epoch_reaching(history: RunHistory, level: float, answer: Any) -> bool:
    """The first epoch whose minor-group training accuracy reaches ``level`` (or 'never')."""
    reached = [r.epoch for r in history.records if _tail_mean(history, "train_acc", r) >= level]
    return _judge(answer, "an epoch number, or 'never'", reached[0] if reached else "never",
                  "epochs count from 1; scan the minor-group mean of train_acc for the first value "
                  f"≥ {level:g} (answer 'never' if it is not reached).", same=same_value)


# ---------------------------------------------------------------- lesson 3: feature gradients


def check_logit_gradient(logits: Any, label: int, answer: Any) -> bool:
    """∂ℓ/∂z for cross-entropy: softmax(z) − one_hot(y)."""
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()
    truth = p.copy()
    truth[label] -= 1
    return _judge(answer, "a vector with one entry per class", truth,
                  "start from p = softmax(z) (subtract max(z) first for stability).",
                  "Every entry but the true class's is positive; they sum to zero.",
                  [(p, "that is the softmax; one entry still needs the one-hot term."),
                   (-truth, "check the sign of the one-hot term.")], close(1e-4), shape=True)


def check_gradient_ratio(history: RunHistory, epoch: int, answer: Any) -> bool:
    """Minor-group over major-group mean feature-gradient norm at ``epoch`` (1-based)."""
    if not 1 <= epoch <= len(history.records):
        print(f"{WRONG}: epoch {epoch} was not trained; pick 1 to {len(history.records)}.")
        return False
    truth = history.gradient_ratio()[epoch - 1]
    return _judge(answer, "a ratio (minor / major)", truth,
                  "records are 0-based in Python but epochs start at 1; average grad_norm over the classes of "
                  "each group.", "Mean over the classes of each group, then divide.",
                  [(1 / truth, "upside down: minor over major.")], lambda a, t: close(max(1e-3, 1e-3 * abs(t)))(a, t))


def check_peak_epoch(history: RunHistory, answer: Any) -> bool:
    """The epoch at which the minor group's mean feature-gradient norm was largest."""
    _, tail = history.head_tail("grad_norm")
    return _judge(answer, "an epoch number", history.records[int(np.argmax(tail))].epoch,
                  "take the minor-group mean of grad_norm per epoch and find where it is largest "
                  "(epochs start at 1).", "Compare it with the epochs of the under-fitting phase.", same=close(0))


# ---------------------------------------------------------------- lesson 4: Procrustean training


def check_class_weights(counts: Sequence[int], gamma: float, answer: Any) -> bool:
    """MFW weakening weights w_c = ((n_c − n_min) / (n_max − n_min)) ** gamma."""
    truth = count_weights(list(counts), gamma)
    return _judge(answer, "a list of weights, one per class", truth,
                  "rescale the counts to [0, 1] with n_min and n_max, then raise to gamma.",
                  "The largest class is weakened most, the smallest not at all.",
                  [(1 - truth, "reversed: the largest class gets weight 1.")], shape=True)


def check_mixing_coefficient(strength: float, weight: float, u: float, answer: Any) -> bool:
    """λ = 1 − s · w · u."""
    return _judge(answer, "a number between 0 and 1", 1 - strength * weight * u,
                  "multiply strength, class weight and u, and subtract from 1.",
                  "λ = 1 keeps a sample's own features; smaller λ mixes in more of the partner.",
                  [(strength * weight * u, "that is how much of the partner is mixed in; λ is what stays.")],
                  close(1e-6))


def check_mixed_features(h: Any, lam: Any, partner: Any, answer: Any) -> bool:
    """h_i ← λ_i h_i + (1 − λ_i) h_{partner(i)}."""
    h_, lam_, idx = _array(h), _array(lam), np.asarray(partner, dtype=int)
    lam_ = lam_.reshape((-1,) + (1,) * (h_.ndim - 1))
    return _judge(answer, "the mixed feature tensor", lam_ * h_ + (1 - lam_) * h_[idx],
                  "index the partner rows with h[partner] and broadcast λ over feature dimensions.",
                  "The label stays y_i: only the features move towards the partner's.",
                  [((1 - lam_) * h_ + lam_ * h_[idx],
                    "λ belongs to the sample's own features, 1 − λ to the partner's.")],
                  close(1e-5), shape=True)


def check_adjusted_logits(logits: Any, counts: Sequence[int], tau: float, answer: Any) -> bool:
    """Post-hoc logit adjustment: z_c − τ log π_c with π_c = n_c / N."""
    z = _array(logits)
    log_prior = np.log(np.asarray(counts, dtype=np.float64) / np.sum(counts))
    return _judge(answer, "the adjusted logits", z - tau * log_prior,
                  "π_c is the training share of class c (a probability), and log is natural.",
                  "Rare classes gain the most: log π_c is most negative for them.",
                  [(z + tau * log_prior, "the sign: subtract τ · log π_c.")], close(1e-4), shape=True)


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


_UP = r"\b(beats?|better|higher|gains?|improv\w*|raises?|lifts?|above|more)\b"
_DOWN = r"\b(worse|lower|loses?|below|hurts?|drops?|less|falls?)\b"
_NOISE = r"(noise|no clear|not clear|inconclusive|indistinguishable|cannot tell|can't tell|no evidence|within)"


def check_conclusion(text: Any, comparison: PairedComparison) -> bool:
    """A conclusion someone else can check: it cites the mean paired difference (in points, to one
    decimal), the win count ("k of n" or "k/n"), and words whose direction matches the interval —
    a gain or a loss only when the interval excludes 0, seed noise when it does not."""
    if text is not None and not isinstance(text, str):
        print(f"{WRONG}: write the conclusion as a string.")
        return False
    said = text or ""
    mean = comparison.mean
    numbers = [float(m) for m in re.findall(r"[-+]?\d+(?:\.\d+)?", said)]
    cites_size = any(abs(abs(v) - abs(mean)) <= 0.15 for v in numbers)
    wins = comparison.wins if mean >= 0 else comparison.n - comparison.wins - sum(
        d == 0 for d in comparison.differences)
    cites_wins = bool(re.search(rf"\b({comparison.wins}|{wins})\s*(of|/|out of)\s*{comparison.n}\b", said))
    up, down = re.search(_UP, said, re.IGNORECASE), re.search(_DOWN, said, re.IGNORECASE)
    noise = re.search(_NOISE, said, re.IGNORECASE)
    if comparison.beyond_noise:
        direction = bool(up) if mean > 0 else bool(down)
        direction_hint = (f"say in words which way it went: {comparison.b} came out "
                          f"{'higher' if mean > 0 else 'lower'} — and the interval excludes 0.")
    else:
        direction = bool(noise)
        direction_hint = "the interval contains 0: say that the difference is within seed noise."
    hint = ("cite the mean paired difference in points (to one decimal, as the comparison prints it)."
            if not cites_size else "cite the win count as 'k of n' seeds." if not cites_wins else direction_hint)
    return _judge(text, "a few sentences as a string", True, hint,
                  "Size, interval, win count and direction: a claim someone else can check.",
                  same=lambda _a, _t: cites_size and cites_wins and direction)


# ---------------------------------------------------------------- any lesson: predictions and comparisons


def check_prediction(measured: float, prediction: Any, what: str = "the change", unit: str = "points",
                     tolerance: float = 5.0) -> bool:
    """Predict-then-run: a prediction written before the cell that measured ``measured``. Right when it
    has the measured direction and is within ``tolerance`` of its size."""
    value = _number(prediction)
    if prediction is not None and value is None:
        print(f"{WRONG}: write your prediction as one number ({unit}).")
        return False
    if value is None:
        print(f"{MISSING}: write your prediction of {what} (a number, in {unit}) before you run the cell that "
              "measures it.")
        return False
    same_direction = np.sign(value) == np.sign(measured) or (abs(measured) <= tolerance and abs(value) <= tolerance)
    if same_direction and abs(value - measured) <= tolerance:
        print(f"{RIGHT}: you predicted {value:+g} {unit}; the run measured {measured:+.1f}. Direction and size.")
        return True
    if not same_direction:
        print(f"{WRONG}: you predicted {value:+g} {unit}, the run measured {measured:+.1f}: the direction differs. "
              "What did your prediction leave out?")
        return False
    print(f"{WRONG}: the direction was right ({value:+g} vs {measured:+.1f} {unit}) but the size is off by "
          f"{abs(value - measured):.1f}; more than {tolerance:g} {unit}.")
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
    """Whether the 95 % interval of the paired difference excludes 0: 'beyond noise' or 'within noise'."""
    truth = "beyond noise" if comparison.beyond_noise else "within noise"
    words = {"beyond noise": ("beyond", "true", "yes", "significant", "real"),
             "within noise": ("within", "false", "no", "noise", "not")}

    def said(a: Any) -> str | None:
        text = str(a).strip().lower()
        if isinstance(a, bool):
            return "beyond noise" if a else "within noise"
        if text.startswith("within") or text.startswith("no"):
            return "within noise"
        return next((k for k, ws in words.items() if any(text.startswith(w) for w in ws)), None)

    _, lo, hi = comparison.interval
    return _judge(answer, "'beyond noise' or 'within noise'", truth,
                  "look at the interval: does it contain 0?",
                  "The verdict is the interval's, not the mean's: a mean can be large and the interval still "
                  "contain 0 on few seeds.",
                  [(lambda a: said(a) == "beyond noise" and lo <= 0 <= hi,
                    "the mean is not 0, but the interval reaches across 0.")],
                  same=lambda a, t: said(a) == t)


def check_wins(comparison: PairedComparison, answer: Any) -> bool:
    """On how many seeds B came out higher than A."""
    ties = sum(d == 0 for d in comparison.differences)
    return _judge(answer, "a whole number of seeds", comparison.wins,
                  "count the seeds whose difference B − A is above 0.", "",
                  [(comparison.n - comparison.wins - ties, "that counts the seeds A won.")], close(0))


# ---------------------------------------------------------------- lesson 1: words that fit the numbers


def check_precision_word(history: RunHistory, cls: int, answer: Any) -> bool:
    """How to describe class ``cls``'s test precision: 'never predicted' (no prediction, so no precision),
    'high' (≥ 0.7), 'low' (< 0.3) or 'medium'."""
    confusion = np.asarray(history.last.confusion, dtype=float)
    predicted = confusion[:, cls].sum()
    precision = confusion[cls, cls] / predicted if predicted else None
    truth = ("never predicted" if precision is None else "high" if precision >= 0.7 else
             "low" if precision < 0.3 else "medium")
    return _judge(answer, "'high', 'medium', 'low' or 'never predicted'", truth,
                  "look at the column of that class in the confusion matrix: how many test samples were predicted "
                  "as it, and how many of those were right?",
                  "A word must fit the number: a class that is never predicted has no precision to call high.",
                  [(lambda a: truth == "never predicted" and str(a).strip().lower() == "high",
                    "it was never predicted: precision 0 in the table means no predictions, not high precision.")],
                  same=lambda a, t: str(a).strip().lower() == t)


def check_gradient_bound(weight: Any, answer: Any) -> bool:
    """The largest feature-gradient norm any sample can get from this head: √2 · ‖W‖₂ (spectral norm)."""
    w = _array(weight)
    spectral = float(np.linalg.norm(w, 2))
    return _judge(answer, "a number (the bound)", math.sqrt(2) * spectral,
                  "‖Wᵀ(p − e_y)‖ ≤ ‖W‖₂ · ‖p − e_y‖: use the largest singular value of W and the largest "
                  "‖p − e_y‖ can be.",
                  "Reached only if p puts all its mass on one wrong class along W's top singular direction.",
                  [(spectral, "that is ‖W‖₂ alone; how large can ‖p − e_y‖ be?"),
                   (math.sqrt(2) * float(np.linalg.norm(w)), "that is the Frobenius norm; the bound uses the "
                                                             "spectral norm (the largest singular value)."),
                   (2 * spectral, "‖p − e_y‖² = (1 − p_y)² + Σ_{k≠y} p_k² ≤ 2, so ‖p − e_y‖ ≤ √2, not 2.")],
                  close(1e-3 * max(1.0, spectral)))


def check_error_norm(probabilities: Any, label: int, answer: Any) -> bool:
    """‖p − e_y‖ for one sample."""
    p = _array(probabilities)
    truth = p.copy()
    truth[label] -= 1
    return _judge(answer, "a number", float(np.linalg.norm(truth)),
                  "subtract 1 at the label, then take the Euclidean norm.",
                  "It lies between (1 − p_y)·√(C/(C − 1)) and (1 − p_y)·√2.",
                  [(1 - p[label], "that is 1 − p_y, a lower bound; the other classes' p_k add to the norm.")],
                  close(1e-4))


# ---------------------------------------------------------------- lesson 7: features vs classifier


def check_norm_ratio(head_norms: Any, groups: dict[str, list[int]], answer: Any) -> bool:
    """Mean classifier weight norm ‖W_c‖ of the head group over the tail group's."""
    norms = _array(head_norms)
    names = list(groups)
    truth = float(norms[groups[names[0]]].mean() / norms[groups[names[-1]]].mean())
    return _judge(answer, "a ratio (major / minor)", truth,
                  "average ‖W_c‖ over the classes of each group, then divide major by minor.",
                  "Above 1: the classes seen most grew the longest weight vectors.",
                  [(1 / truth, "upside down: major over minor.")], close(1e-3 * max(1.0, truth)))


def check_tau_normalised(logits: Any, bias: Any, norms: Any, tau: float, answer: Any) -> bool:
    """τ-normalised logits ``(z_c − b_c) / ‖W_c‖^τ + b_c``."""
    z, b, n = _array(logits), _array(bias), _array(norms)
    truth = (z - b) / n ** tau + b
    return _judge(answer, "the τ-normalised logits", truth,
                  "divide W_c · h = z_c − b_c by ‖W_c‖ to the power τ, then add the bias back.",
                  "Long weight vectors (the major classes') lose the most.",
                  [(z / n ** tau, "the bias is not divided: take it off first, add it back after."),
                   ((z - b) * n ** tau + b, "divide by the norm, do not multiply.")], close(1e-4), shape=True)


def check_remix_label(counts: Sequence[int], label: int, partner_label: int, lam: float, answer: Any,
                      kappa: float = 3.0, tau: float = 0.5) -> bool:
    """Remix's label weight λ_y of the sample's own class for one pair."""
    ratio = counts[label] / counts[partner_label]
    truth = 0.0 if ratio >= kappa and lam < tau else 1.0 if ratio <= 1 / kappa and 1 - lam < tau else lam
    return _judge(answer, "a number between 0 and 1", truth,
                  "compare n_y / n_partner with κ and λ with τ: when the pair is imbalanced enough, the label "
                  "goes wholly to the minor class.",
                  "Mixup would use λ itself; remix leans the label to the rarer class.",
                  [(lam, "that is mixup's label weight; check remix's two conditions."),
                   (1 - lam, "that is the partner's share under mixup.")], close(1e-6))


# ---------------------------------------------------------------- lesson 8: beyond accuracy


def check_never_positive_accuracy(positive: Any, answer: Any) -> bool:
    """Accuracy of a screen that never says 'positive': the share of negatives."""
    pos = np.asarray(positive, dtype=bool)
    truth = float(1 - pos.mean())
    return _judge(answer, "a number between 0 and 1", truth,
                  "a screen that always says 'negative' is right on every negative sample.",
                  "High accuracy, zero recall: accuracy says nothing about the rare class.",
                  [(float(pos.mean()), "that is the share of positives; it is right on the negatives.")],
                  close(1e-4))


def check_average_precision(scores: Any, positive: Any, answer: Any) -> bool:
    """PR-AUC (average precision) of one score against the positives."""
    curve = calibration.pr_curve(scores, positive)
    return _judge(answer, "a number between 0 and 1", curve.average_precision,
                  "sort by score (highest first), and sum precision × the gain in recall at each distinct score.",
                  f"A random scorer gets about {curve.baseline:.3f}, the share of positives.",
                  [(curve.baseline, "that is a random scorer's AP, the share of positives.")], close(2e-3))


def check_ece(probabilities: Any, labels: Any, answer: Any, bins: int = 15) -> bool:
    """Expected calibration error with ``bins`` equal-width bins of the top-label confidence."""
    rel = calibration.reliability(probabilities, labels, bins)
    p = _array(probabilities)
    y = np.asarray(labels).astype(int)
    overall = abs(float((p.argmax(1) == y).mean()) - float(p.max(1).mean()))
    return _judge(answer, "a number between 0 and 1", rel.ece,
                  f"bin the top-label confidence into {bins} equal bins on [0, 1]; in each, |accuracy − mean "
                  "confidence| weighted by the bin's share of samples; sum.",
                  "Over-confident where confidence exceeds accuracy.",
                  [(overall, "that is one bin for everything: |accuracy − mean confidence| overall. Use the bins."),
                   (rel.mce, "that is the largest bin's gap (MCE); ECE weights each bin by its share.")], close(2e-3))


def check_prior_shift(probabilities: Any, train_prior: Any, target_prior: Any, answer: Any) -> bool:
    """Probabilities for another class prior: p'(c|x) ∝ p(c|x) · π'_c / π_c, rows summing to 1."""
    truth = calibration.prior_shift(probabilities, train_prior, target_prior)
    p = _array(probabilities)
    unnormalised = p * (np.asarray(target_prior) / np.asarray(train_prior))
    return _judge(answer, "probabilities, one row per sample", truth,
                  "multiply each column by π'_c / π_c, then divide each row by its sum.",
                  "Bayes' rule: only the prior changed, so only the prior's factor changes.",
                  [(unnormalised, "now divide each row by its sum, so it is a distribution again."),
                   (calibration.prior_shift(probabilities, target_prior, train_prior),
                    "upside down: multiply by the new prior, divide by the old one.")], close(1e-6), shape=True)


# ---------------------------------------------------------------- lesson 9: architecture and data


def check_bbn_alpha(epoch: int, epochs: int, answer: Any) -> bool:
    """BBN's cumulative-learning weight of the conventional branch, α = 1 − (e / E)² (e 0-based)."""
    truth = 1 - (epoch / epochs) ** 2
    return _judge(answer, "a number between 0 and 1", truth, "α = 1 − (e/E)², with e counted from 0.",
                  "α starts at 1 (the conventional branch alone) and falls towards 0.",
                  [(1 - epoch / epochs, "linear; cumulative learning squares the fraction."),
                   ((epoch / epochs) ** 2, "that is 1 − α, the re-balancing branch's weight.")], close(1e-6))


def check_se_weights(h: Any, w1: Any, b1: Any, w2: Any, b2: Any, answer: Any) -> bool:
    """Squeeze-and-excitation channel weights s = σ(W₂ ReLU(W₁ mean(h) + b₁) + b₂) for h of shape (C, L)."""
    h_, w1_, b1_, w2_, b2_ = (_array(v) for v in (h, w1, b1, w2, b2))
    squeezed = h_.mean(axis=-1)
    truth = 1 / (1 + np.exp(-(w2_ @ np.maximum(w1_ @ squeezed + b1_, 0) + b2_)))
    return _judge(answer, "one weight per channel", truth,
                  "average each channel over its length, then the two layers (ReLU between), then the sigmoid.",
                  "One number in (0, 1) per channel: the block re-weights its channels by the whole signal.",
                  [(w2_ @ np.maximum(w1_ @ squeezed + b1_, 0) + b2_, "the sigmoid is missing.")],
                  close(1e-5), shape=True)


# ---------------------------------------------------------------- lesson 10: MFW in your own model


def check_hook_output(h: Any, lam: Any, partner: Any, answer: Any) -> bool:
    """What a weakening hook returns for a layer output ``h``: λ_i h_i + (1 − λ_i) h_partner(i)."""
    return check_mixed_features(h, lam, partner, answer)


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
