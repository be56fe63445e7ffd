"""Exercise checks for the lessons: each ``check_...()`` computes the right answer from the run or the
inputs with the core, compares, and prints feedback that points the way without revealing it.

Every check is one row of the same recipe (``_judge``): the truth, the usual mistakes each with its
hint, a general hint, and a word of praise. Every check returns True or False and never raises on a
wrong or missing answer, so a lesson always runs to the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from procrustes_core import RunHistory
from procrustes_core.analysis.metrics import accuracy, balanced_accuracy
from procrustes_core.analysis.phases import underfit_span
from procrustes_core.data.imbalance import class_counts
from procrustes_core.methods.mfw import count_weights

# Columns of a sweep table that name a setting (a run is paired with another by these).
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
    otherwise → the general hint. ``shape``: first check that an array answer has the truth's shape."""
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
    reason = next((why for wrong, why in mistakes if same(answer, wrong)), hint)
    print(f"{WRONG}: {reason}")
    return False


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


def check_best_method(frame: Any, answer: Any, value: str = "balanced_acc", by: str = "method") -> bool:
    """The row label of ``frame`` (a results table) with the highest mean ``value``."""
    known = {str(k) for k in frame[by].unique()}
    return _judge(answer, f"the name of a {by}", _best(frame, by, value),
                  f"group the table by {by!r} and compare the mean {value!r}."
                  if str(answer) in known else f"{answer!r} is not a {by} in the table.",
                  "On this data and these seeds; another seed may reorder close ones.",
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


def check_best_setting(frame: Any, by: str, answer: Any, value: str = "balanced_acc") -> bool:
    """The value of setting ``by`` with the highest mean ``value`` over the rest of the grid."""
    return _judge(answer, f"a value of {by}", _best(frame, by, value),
                  f"group by {by!r} and take the mean of {value!r}; pick the largest.",
                  "Check the spread over seeds before you trust a small lead.",
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


def check_conclusion(text: Any, frame: Any, value: str = "balanced_acc") -> bool:
    """A conclusion that cites at least two measured numbers from the results and compares them."""
    if text is not None and not isinstance(text, str):
        print(f"{WRONG}: write the conclusion as a string.")
        return False
    measured = {round(float(v), 2) for v in frame[value].tolist()}
    for column in (c for c in frame.columns if c in SETTING_COLUMNS):
        measured |= {round(float(v), 2) for v in frame.groupby(column)[value].mean().tolist()}
    cited = [float(m) for m in re.findall(r"(?<![\d.])0?\.\d+|(?<![\d.])1\.0+\b", text or "")]
    backed = {round(c, 2) for c in cited if any(abs(round(c, 2) - m) <= 0.011 for m in measured)}
    compares = bool(re.search(r"\b(better|worse|higher|lower|than|gain|improv|beat|same|differ)", text or "",
                              re.IGNORECASE))
    hint = (f"cite at least two measured {value} values from your table (as 0.xx)." if len(backed) < 2 else
            "say how the settings compare (better / worse / the same), not only the numbers.")
    return _judge(text, "a few sentences as a string", True, hint,
                  "Numbers and a comparison: a claim someone else can check.",
                  same=lambda _a, _t: len(backed) >= 2 and compares)
