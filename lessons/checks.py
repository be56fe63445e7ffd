"""Exercise checks for the lessons: each ``check_...()`` recomputes the right answer from the run or
the inputs with the core, compares, and prints feedback that points the way without revealing it.

Every check returns True or False and never raises on a wrong or missing answer, so a lesson
always runs to the end.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from procrustes_core import RunHistory
from procrustes_core.imbalance import class_counts, head_and_tail
from procrustes_core.methods import count_weights
from procrustes_core.metrics import accuracy, balanced_accuracy

# Columns of a sweep table that name a setting (a run is paired with another by these).
SETTING_COLUMNS = ("seed", "method", "profile", "ratio", "mfw_strength", "mfw_layer", "mfw_schedule", "la_tau")
RIGHT = "✔ Correct"
WRONG = "✘ Not yet"
MISSING = "… Not answered yet"


def _feedback(ok: bool, hint: str, praise: str = "") -> bool:
    print(f"{RIGHT}. {praise}".rstrip() if ok else f"{WRONG}: {hint}")
    return ok


def _missing(answer: Any, what: str) -> bool:
    if answer is None or answer is Ellipsis:
        print(f"{MISSING}: replace None with {what}.")
        return True
    return False


def _array(answer: Any) -> np.ndarray | None:
    try:
        if hasattr(answer, "detach"):
            answer = answer.detach().cpu().numpy()
        return np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _close(answer: Any, truth: Any, tol: float = 1e-3) -> bool:
    a, t = _array(answer), np.asarray(truth, dtype=np.float64)
    return a is not None and a.shape == t.shape and bool(np.all(np.abs(a - t) <= tol))


def _shape_hint(answer: Any, truth: Any) -> str | None:
    a, t = _array(answer), np.asarray(truth, dtype=np.float64)
    if a is None:
        return "expected numbers"
    if a.shape != t.shape:
        return f"expected shape {t.shape}, got {a.shape}"
    return None


def _same(answer: Any, key: Any) -> bool:
    """An answer names a setting value: equal as text, or as a number."""
    if str(answer) == str(key):
        return True
    try:
        return abs(float(answer) - float(key)) < 1e-9
    except (TypeError, ValueError):
        return False


def _group_mean(values: Sequence[float], members: Sequence[int]) -> float:
    return float(np.mean([values[c] for c in members]))


def _tail_and_head(history: RunHistory) -> tuple[list[int], list[int]]:
    head, tail = head_and_tail(history.groups)
    return tail, head


# ---------------------------------------------------------------- lesson 1: what imbalance does


def check_step_counts(n_max: int, ratio: float, num_classes: int, answer: Any) -> bool:
    """The per-class training counts of step imbalance."""
    if _missing(answer, "a list of counts, one per class"):
        return False
    truth = class_counts(n_max, num_classes, "step", ratio)
    hint = _shape_hint(answer, truth)
    if hint:
        return _feedback(False, hint)
    if _close(answer, truth, 0):
        return _feedback(True, "", "Half the classes keep n_max, the other half n_max / ratio (rounded down).")
    if _close(answer, class_counts(n_max, num_classes, "longtail", ratio), 0):
        return _feedback(False, "those are long-tailed counts; step imbalance has only two sizes.")
    return _feedback(False, "which classes are major, and how is n_max / ratio rounded?")


def check_balanced_accuracy(history: RunHistory, answer: Any) -> bool:
    """Balanced accuracy from the last epoch's confusion matrix."""
    if _missing(answer, "a number between 0 and 1"):
        return False
    confusion = np.asarray(history.last.confusion, dtype=float)
    if _close(answer, balanced_accuracy(confusion)):
        return _feedback(True, "", "It is the mean of the per-class recalls: every class counts the same.")
    if _close(answer, accuracy(confusion)):
        return _feedback(False, "that is overall accuracy; average the recall of each class instead.")
    return _feedback(False, "divide each diagonal entry by its row sum (the true class), then average.")


def check_prior_weighted_accuracy(history: RunHistory, answer: Any) -> bool:
    """Accuracy the model would show on a test set distributed like the imbalanced training set."""
    if _missing(answer, "a number between 0 and 1"):
        return False
    counts = np.asarray(history.counts, dtype=float)
    truth = float((counts / counts.sum()) @ np.asarray(history.last.recall))
    if _close(answer, truth):
        return _feedback(True, "", "Weighted by the training prior, the minor classes barely count.")
    if _close(answer, history.last.balanced_acc):
        return _feedback(False, "that is the balanced accuracy; weight each recall by n_c / N instead.")
    return _feedback(False, "weight the recall of class c by its share n_c / N of the training set, then sum.")


def check_most_confused(history: RunHistory, answer: Any) -> bool:
    """The (true class, predicted class) pair with the most test mistakes."""
    if _missing(answer, "a pair (true class, predicted class)"):
        return False
    confusion = np.asarray(history.last.confusion, dtype=float)
    np.fill_diagonal(confusion, -1)
    best = confusion.max()
    pairs = {(int(i), int(j)) for i, j in zip(*np.nonzero(confusion == best))}
    try:
        given = (int(answer[0]), int(answer[1]))
    except (TypeError, ValueError, IndexError):
        return _feedback(False, "give two class indices, e.g. (true, predicted).")
    if given in pairs:
        return _feedback(True, "", "Rows are true classes, columns predictions.")
    if (given[1], given[0]) in pairs:
        return _feedback(False, "close: rows are the true class, columns the prediction.")
    return _feedback(False, "look for the largest entry off the diagonal of the count matrix.")


# ---------------------------------------------------------------- lesson 2: under-fit, then over-fit


def check_underfit_epochs(history: RunHistory, answer: Any) -> bool:
    """How many epochs the minor group's training accuracy stayed below half the major group's."""
    if _missing(answer, "a whole number of epochs"):
        return False
    tail, head = _tail_and_head(history)
    truth = sum(1 for r in history.records
                if _group_mean(r.train_acc, tail) < 0.5 * _group_mean(r.train_acc, head))
    try:
        ok = int(answer) == truth and float(answer).is_integer()
    except (TypeError, ValueError):
        return _feedback(False, "give a whole number of epochs.")
    return _feedback(ok, "compare the two group means of train_acc epoch by epoch and count the epochs "
                         "where minor < 0.5 × major.", "That is the under-fitting phase.")


def check_generalisation_gap(history: RunHistory, answer: Any) -> bool:
    """The minor group's training minus test accuracy at the last epoch."""
    if _missing(answer, "a number (training minus test accuracy)"):
        return False
    tail, _ = _tail_and_head(history)
    last = history.last
    truth = _group_mean(last.train_acc, tail) - _group_mean(last.test_acc, tail)
    if _close(answer, truth):
        return _feedback(True, "", "A large gap with training accuracy near 1 is over-fitting.")
    if _close(answer, -truth):
        return _feedback(False, "the sign: training minus test.")
    return _feedback(False, "use the minor-group means of train_acc and test_acc of the last record.")


def check_first_epoch_reaching(history: RunHistory, level: float, answer: Any) -> bool:
    """The first epoch whose minor-group training accuracy reaches ``level`` (or 'never')."""
    if _missing(answer, "an epoch number, or 'never'"):
        return False
    tail, _ = _tail_and_head(history)
    reached = [r.epoch for r in history.records if _group_mean(r.train_acc, tail) >= level]
    truth: Any = reached[0] if reached else "never"
    ok = str(answer).strip().lower() == str(truth)
    return _feedback(ok, "epochs count from 1; scan the minor-group mean of train_acc for the first value "
                         f"≥ {level:g} (answer 'never' if it is not reached).")


# ---------------------------------------------------------------- lesson 3: feature gradients


def check_logit_gradient(logits: Any, label: int, answer: Any) -> bool:
    """∂ℓ/∂z for cross-entropy: softmax(z) − one_hot(y)."""
    if _missing(answer, "a vector with one entry per class"):
        return False
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()
    truth = p.copy()
    truth[label] -= 1
    hint = _shape_hint(answer, truth)
    if hint:
        return _feedback(False, hint)
    if _close(answer, truth, 1e-4):
        return _feedback(True, "", "Every entry but the true class's is positive; they sum to zero.")
    if _close(answer, p, 1e-4):
        return _feedback(False, "that is the softmax; one entry still needs the one-hot term.")
    if _close(answer, -truth, 1e-4):
        return _feedback(False, "check the sign of the one-hot term.")
    return _feedback(False, "start from p = softmax(z) (subtract max(z) first for stability).")


def check_gradient_ratio(history: RunHistory, epoch: int, answer: Any) -> bool:
    """Minor-group over major-group mean feature-gradient norm at ``epoch`` (1-based)."""
    if _missing(answer, "a ratio (minor / major)"):
        return False
    if not 1 <= epoch <= len(history.records):
        return _feedback(False, f"epoch {epoch} was not trained; pick 1 to {len(history.records)}.")
    record = history.records[epoch - 1]
    tail, head = _tail_and_head(history)
    truth = _group_mean(record.grad_norm, tail) / _group_mean(record.grad_norm, head)
    if _close(answer, truth, max(1e-3, 1e-3 * abs(truth))):
        return _feedback(True, "", "Mean over the classes of each group, then divide.")
    if _close(answer, 1 / truth, max(1e-3, 1e-3 / abs(truth))):
        return _feedback(False, "upside down: minor over major.")
    return _feedback(False, "records are 0-based in Python but epochs start at 1; average grad_norm over the "
                            "classes of each group.")


def check_peak_epoch(history: RunHistory, answer: Any) -> bool:
    """The epoch at which the minor group's mean feature-gradient norm was largest."""
    if _missing(answer, "an epoch number"):
        return False
    tail, _ = _tail_and_head(history)
    values = [_group_mean(r.grad_norm, tail) for r in history.records]
    truth = history.records[int(np.argmax(values))].epoch
    try:
        ok = int(answer) == truth
    except (TypeError, ValueError):
        return _feedback(False, "give an epoch number (they start at 1).")
    return _feedback(ok, "take the minor-group mean of grad_norm per epoch and find where it is largest "
                         "(epochs start at 1).", "Compare it with the epochs of the under-fitting phase.")


# ---------------------------------------------------------------- lesson 4: Procrustean training


def check_class_weights(counts: Sequence[int], gamma: float, answer: Any) -> bool:
    """MFW class weights w_c = ((n_c − n_min) / (n_max − n_min)) ** gamma."""
    if _missing(answer, "a list of weights, one per class"):
        return False
    truth = count_weights(list(counts), gamma)
    hint = _shape_hint(answer, truth)
    if hint:
        return _feedback(False, hint)
    if _close(answer, truth):
        return _feedback(True, "", "The largest class is weakened most, the smallest not at all.")
    if _close(answer, 1 - truth):
        return _feedback(False, "reversed: the largest class gets weight 1.")
    return _feedback(False, "rescale the counts to [0, 1] with n_min and n_max, then raise to gamma.")


def check_mixing_coefficient(strength: float, weight: float, u: float, answer: Any) -> bool:
    """λ = 1 − s · w · u."""
    if _missing(answer, "a number between 0 and 1"):
        return False
    truth = 1 - strength * weight * u
    if _close(answer, truth, 1e-6):
        return _feedback(True, "", "λ = 1 keeps a sample's own features; smaller λ mixes in more of the partner.")
    if _close(answer, strength * weight * u, 1e-6):
        return _feedback(False, "that is how much of the partner is mixed in; λ is what stays.")
    return _feedback(False, "multiply strength, class weight and u, and subtract from 1.")


def check_mixed_features(h: Any, lam: Any, partner: Any, answer: Any) -> bool:
    """h_i ← λ_i h_i + (1 − λ_i) h_{partner(i)}."""
    if _missing(answer, "the mixed feature tensor"):
        return False
    h_, lam_, idx = _array(h), _array(lam), np.asarray(partner, dtype=int)
    shape = (-1,) + (1,) * (h_.ndim - 1)
    truth = lam_.reshape(shape) * h_ + (1 - lam_.reshape(shape)) * h_[idx]
    hint = _shape_hint(answer, truth)
    if hint:
        return _feedback(False, hint)
    if _close(answer, truth, 1e-5):
        return _feedback(True, "", "The label stays y_i: only the features move towards the partner's.")
    swapped = (1 - lam_.reshape(shape)) * h_ + lam_.reshape(shape) * h_[idx]
    if _close(answer, swapped, 1e-5):
        return _feedback(False, "λ belongs to the sample's own features, 1 − λ to the partner's.")
    return _feedback(False, "index the partner rows with h[partner] and broadcast λ over feature dimensions.")


def check_adjusted_logits(logits: Any, counts: Sequence[int], tau: float, answer: Any) -> bool:
    """Post-hoc logit adjustment: z_c − τ log π_c with π_c = n_c / N."""
    if _missing(answer, "the adjusted logits"):
        return False
    z = _array(logits)
    prior = np.asarray(counts, dtype=np.float64)
    prior /= prior.sum()
    truth = z - tau * np.log(prior)
    hint = _shape_hint(answer, truth)
    if hint:
        return _feedback(False, hint)
    if _close(answer, truth, 1e-4):
        return _feedback(True, "", "Rare classes gain the most: log π_c is most negative for them.")
    if _close(answer, z + tau * np.log(prior), 1e-4):
        return _feedback(False, "the sign: subtract τ · log π_c.")
    return _feedback(False, "π_c is the training share of class c (a probability), and log is natural.")


# ---------------------------------------------------------------- lesson 5: remedies side by side


def check_best_method(frame: Any, answer: Any, value: str = "balanced_acc", by: str = "method") -> bool:
    """The row label of ``frame`` (a results table) with the highest mean ``value``."""
    if _missing(answer, f"the name of a {by}"):
        return False
    means = frame.groupby(by)[value].mean()
    best = means.max()
    winners = {str(k) for k, v in means.items() if v >= best - 1e-12}
    if str(answer) in winners:
        return _feedback(True, "", "On this data and these seeds; another seed may reorder close ones.")
    if str(answer) not in {str(k) for k in means.index}:
        return _feedback(False, f"{answer!r} is not a {by} in the table.")
    return _feedback(False, f"group the table by {by!r} and compare the mean {value!r}.")


def check_sampling_probability(counts: Sequence[int], cls: int, answer: Any) -> bool:
    """Class-balanced sampling: the chance that one draw is a given sample of class ``cls``."""
    if _missing(answer, "a probability"):
        return False
    counts = list(counts)
    truth = 1 / (len(counts) * counts[cls])
    if _close(answer, truth, truth * 1e-3):
        return _feedback(True, "", "Each class is drawn with chance 1/C, then a sample uniformly within it.")
    if _close(answer, 1 / sum(counts), truth * 1e-3):
        return _feedback(False, "that is instance-balanced (plain) sampling.")
    return _feedback(False, "first pick a class (each equally likely), then a sample inside it.")


def check_prior_correctors(candidates: Sequence[str], answer: Any) -> bool:
    """Which of the named methods correct for the class prior (the registry's ``corrects_prior``)."""
    if _missing(answer, "a set of method names"):
        return False
    from procrustes_core.methods.registry import METHODS

    unknown = [n for n in candidates if n not in METHODS]
    if unknown:
        return _feedback(False, f"{unknown[0]!r} is not a method; see METHODS.")
    truth = {n for n in candidates if METHODS[n].corrects_prior}
    given = {answer} if isinstance(answer, str) else set(answer)
    if given == truth:
        return _feedback(True, "", "A run corrects for the prior once: two such methods would over-correct.")
    if given - set(candidates):
        return _feedback(False, "answer with names from the candidate list.")
    missed, extra = len(truth - given), len(given - truth)
    return _feedback(False, f"{missed} missing and {extra} too many; ask of each: does it re-balance the classes "
                            "(sampling, weights, or the prior in the logits)?")


# ---------------------------------------------------------------- lesson 6: your own experiment


def check_best_setting(frame: Any, by: str, answer: Any, value: str = "balanced_acc") -> bool:
    """The value of setting ``by`` with the highest mean ``value`` over the rest of the grid."""
    if _missing(answer, f"a value of {by}"):
        return False
    means = frame.groupby(by)[value].mean()
    best = means.max()
    winners = [k for k, v in means.items() if v >= best - 1e-12]
    ok = any(_same(answer, k) for k in winners)
    return _feedback(ok, f"group by {by!r} and take the mean of {value!r}; pick the largest.",
                     "Check the spread over seeds before you trust a small lead.")


def check_paired_gain(frame: Any, setting: str, treated: Any, control: Any, answer: Any,
                      value: str = "balanced_acc") -> bool:
    """Mean over seeds of value(treated) − value(control), pairing runs by seed and other settings."""
    if _missing(answer, "the mean paired difference"):
        return False
    others = [c for c in frame.columns if c in SETTING_COLUMNS and c != setting]
    a = frame[frame[setting] == treated].set_index(others)[value]
    b = frame[frame[setting] == control].set_index(others)[value]
    diff = (a - b).dropna()
    if diff.empty:
        return _feedback(False, f"no pairs found for {setting}={treated!r} against {control!r}.")
    truth = float(diff.mean())
    if _close(answer, truth, 1e-3):
        return _feedback(True, "", f"{int((diff > 0).sum())} of {len(diff)} pairs favour {treated!r}.")
    if _close(answer, -truth, 1e-3):
        return _feedback(False, "the sign: treated minus control.")
    return _feedback(False, "pair runs that share seed and the other settings, subtract, then average.")


def check_conclusion(text: Any, frame: Any, value: str = "balanced_acc") -> bool:
    """A conclusion that cites at least two measured numbers from the results and compares them."""
    if _missing(text, "a few sentences as a string") or not isinstance(text, str):
        return False if text is None else _feedback(False, "write the conclusion as a string.")
    measured = {round(float(v), 2) for v in frame[value].tolist()}
    settings = [c for c in frame.columns if c in SETTING_COLUMNS]
    for column in settings:
        measured |= {round(float(v), 2) for v in frame.groupby(column)[value].mean().tolist()}
    cited = [float(m) for m in re.findall(r"(?<![\d.])0?\.\d+|(?<![\d.])1\.0+\b", text)]
    backed = {round(c, 2) for c in cited if any(abs(round(c, 2) - m) <= 0.011 for m in measured)}
    words = re.search(r"\b(better|worse|higher|lower|than|gain|improv|beat|same|differ)", text, re.IGNORECASE)
    if len(backed) >= 2 and words:
        return _feedback(True, "", "Numbers and a comparison: a claim someone else can check.")
    if len(backed) < 2:
        return _feedback(False, f"cite at least two measured {value} values from your table (as 0.xx).")
    return _feedback(False, "say how the settings compare (better / worse / the same), not only the numbers.")
