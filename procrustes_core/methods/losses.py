"""Training losses for imbalanced data: one small class per loss, all with the same interface.

Every loss gives the per-sample loss ``ℓ(z_i, y_i)`` of logits ``z`` (``per_sample``). The batch
objective (``__call__``) is the weighted mean of per-sample losses,

    L = Σ_i ω_i ℓ(z_i, y_i) / Σ_i ω_i,     ω_i = w_{y_i}   (class weights, or 1)

and when a mixer mixes labels (mixup, remix) each sample counts towards both of its labels,
``λ_i ℓ(z_i, y_i) + (1 − λ_i) ℓ(z_i, y_j)``, with weights mixed the same way.
``n_c`` are the training counts, ``π_c = n_c / Σ n`` the training prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class LabelMix:
    """Mixed targets: each sample counts ``lam`` towards its own label and ``1 - lam`` towards its partner's."""

    lam: torch.Tensor  # per sample, in [0, 1]
    partner: torch.Tensor  # index of the partner sample in the batch


def _tensor(values: np.ndarray | list[float], like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64), dtype=like.dtype, device=like.device)


def inverse_frequency_weights(counts: list[int]) -> np.ndarray:
    """``w_c ∝ 1 / n_c``, normalised so that the weights sum to the number of classes."""
    w = 1.0 / np.asarray(counts, dtype=np.float64)
    return w * len(w) / w.sum()


def effective_number_weights(counts: list[int], beta: float) -> np.ndarray:
    """``w_c ∝ (1 − β) / (1 − β^n_c)`` (the inverse "effective number" of samples), summing to C."""
    n = np.asarray(counts, dtype=np.float64)
    w = (1.0 - beta) / (1.0 - np.power(beta, n))
    return w * len(w) / w.sum()


class Loss:
    """Base class: subclasses define ``per_sample``; ``__call__`` averages it over the batch."""

    name = "loss"
    loss_weights: np.ndarray | None = None  # per-class weights this loss brings itself (weighted CE)

    def per_sample(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def plain_mean(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.per_sample(logits, labels).mean()

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor, loss_weights: torch.Tensor | None = None,
                 mix: LabelMix | None = None) -> torch.Tensor:
        if loss_weights is None and mix is None:
            return self.plain_mean(logits, labels)
        w = loss_weights if loss_weights is not None else torch.ones(logits.shape[1], device=logits.device)
        own = w[labels] * self.per_sample(logits, labels)
        if mix is None:
            return own.sum() / w[labels].sum()
        other_labels = labels[mix.partner]
        other = w[other_labels] * self.per_sample(logits, other_labels)
        total = mix.lam * own + (1 - mix.lam) * other
        weight = mix.lam * w[labels] + (1 - mix.lam) * w[other_labels]
        return total.sum() / weight.sum()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CrossEntropy(Loss):
    """``ℓ = −log softmax(z)_y``; optional fixed class weights (weighted CE)."""

    name = "ce"

    def __init__(self, loss_weights: np.ndarray | None = None):
        self.loss_weights = None if loss_weights is None else np.asarray(loss_weights, dtype=np.float64)

    def per_sample(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, labels, reduction="none")

    def plain_mean(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, labels)  # the fused mean: bit-for-bit what plain ERM has always used


class FocalLoss(Loss):
    """``ℓ = −(1 − p_y)^γ log p_y``: easy, well-classified samples count less."""

    name = "focal"

    def __init__(self, gamma: float = 1.0):
        self.gamma = gamma

    def per_sample(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(logits, dim=1).gather(1, labels[:, None]).squeeze(1)
        return -((1 - log_p.exp()) ** self.gamma) * log_p

    def __repr__(self) -> str:
        return f"FocalLoss(gamma={self.gamma:g})"


class LDAMLoss(Loss):
    """Label-distribution-aware margin: ``ℓ = CE(z − s·Δ_y·e_y)``, ``Δ_c ∝ n_c^(−1/4)``, ``max Δ = m``.

    With the cosine classifier (``models.heads.CosineClassifier``, chosen by ``ldam_cosine``) the
    logits are ``s·cos θ``, so this is ``CE(s·(cos θ − Δ_y e_y))``, as in the LDAM-DRW reference.
    """

    name = "ldam"

    def __init__(self, counts: list[int], max_margin: float = 0.5, scale: float = 30.0):
        margins = np.asarray(counts, dtype=np.float64) ** -0.25
        self.margins = margins * (max_margin / margins.max())
        self.scale = scale

    def per_sample(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        margin = self.scale * _tensor(self.margins, logits)[labels]
        shifted = logits - margin[:, None] * F.one_hot(labels, logits.shape[1]).to(logits.dtype)
        return F.cross_entropy(shifted, labels, reduction="none")

    def __repr__(self) -> str:
        return f"LDAMLoss(max_margin={self.margins.max():g}, scale={self.scale:g})"


class LogitAdjustedLoss(Loss):
    """``ℓ = CE(z + τ · log π)``: the prior is added during training only (τ = 1: balanced softmax)."""

    name = "la-loss"

    def __init__(self, counts: list[int], tau: float = 1.0):
        n = np.asarray(counts, dtype=np.float64)
        self.offset = tau * np.log(n / n.sum())
        self.tau = tau

    def per_sample(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits + _tensor(self.offset, logits), labels, reduction="none")

    def __repr__(self) -> str:
        return f"LogitAdjustedLoss(tau={self.tau:g})"


class BalancedSoftmax(LogitAdjustedLoss):
    """``ℓ = CE(z + log n_c)`` — the logit-adjusted loss at τ = 1 (adding log n or log π is the same)."""

    name = "balanced-softmax"

    def __init__(self, counts: list[int]):
        super().__init__(counts, tau=1.0)

    def __repr__(self) -> str:
        return "BalancedSoftmax()"


class ClassDependentTemperature(Loss):
    """CDT: ``ℓ = CE(z_c / a_c)``, ``a_c = (n_max / n_c)^γ``, during training only."""

    name = "cdt"

    def __init__(self, counts: list[int], gamma: float = 0.2):
        n = np.asarray(counts, dtype=np.float64)
        self.temperature = (n.max() / n) ** gamma
        self.gamma = gamma

    def per_sample(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits / _tensor(self.temperature, logits), labels, reduction="none")

    def __repr__(self) -> str:
        return f"ClassDependentTemperature(gamma={self.gamma:g})"


def build_loss(name: str, counts: list[int], focal_gamma: float = 1.0, cb_beta: float = 0.999,
               ldam_max_margin: float = 0.5, ldam_scale: float = 30.0, la_loss_tau: float = 1.0,
               cdt_gamma: float = 0.2) -> Loss:
    """The loss called ``name`` (see ``procrustes methods``) for training counts ``counts``."""
    builders = {
        "ce": lambda: CrossEntropy(),
        "weighted-ce": lambda: CrossEntropy(inverse_frequency_weights(counts)),
        "cb-ce": lambda: CrossEntropy(effective_number_weights(counts, cb_beta)),
        "focal": lambda: FocalLoss(focal_gamma),
        "ldam": lambda: LDAMLoss(counts, ldam_max_margin, ldam_scale),
        "balanced-softmax": lambda: BalancedSoftmax(counts),
        "la-loss": lambda: LogitAdjustedLoss(counts, la_loss_tau),
        "cdt": lambda: ClassDependentTemperature(counts, cdt_gamma),
    }
    loss = builders[name]()
    loss.name = name
    return loss


__all__ = [
    "BalancedSoftmax", "ClassDependentTemperature", "CrossEntropy", "FocalLoss", "LDAMLoss",
    "LabelMix", "LogitAdjustedLoss", "Loss", "build_loss", "effective_number_weights",
    "inverse_frequency_weights",
]
