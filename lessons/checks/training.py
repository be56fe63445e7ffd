"""Checks of what happens inside training: the phases, feature gradients, MFW's mixing, the classifier
and the architecture (lessons 2, 3, 4, 7, 9 and 10)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from procrustes_core import RunHistory
from procrustes_core.analysis.phases import underfit_span
from procrustes_core.methods.mfw import count_weights

from .recipe import (
    WRONG,
    _array,
    _judge,
    _tail_mean,
    close,
    same_value,
)

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


