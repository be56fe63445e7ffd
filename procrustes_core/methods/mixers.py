"""Mixers: blend each sample of a mini-batch with a partner sample, at the input or inside the network.

Every mixer shares one step, ``h_i ← λ_i · h_i + (1 − λ_i) · h_j`` with ``j = perm(i)`` (``blend``);
they differ in how ``λ`` is drawn and in what happens to the label:

    mfw     major feature weakening (mfw.py): λ_i = 1 − s · w_{y_i} · u_i, the label stays y_i
    mixup   λ ~ Beta(α, α) for the batch, at the input; the target is λ·y_i + (1 − λ)·y_j
    remix   as mixup, but the target leans to the minor class: with κ and τ,
            λ_y = 0 if n_{y_i} / n_{y_j} ≥ κ and λ < τ;  λ_y = 1 if n_{y_i} / n_{y_j} ≤ 1/κ and 1 − λ < τ;
            λ_y = λ otherwise

Each mixer draws from its own random stream, so turning one on never shifts the batch order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .losses import LabelMix


def blend(h: torch.Tensor, lam: torch.Tensor, partner: torch.Tensor, detach: bool = False) -> torch.Tensor:
    """``λ_i · h_i + (1 − λ_i) · h_partner(i)``, broadcast over the feature dimensions.

    By default the partner's features are not detached: the gradient of a mixed sample's loss reaches
    the partner's features too, as in mixup. ``detach=True`` stops it there."""
    lam = lam.reshape(-1, *([1] * (h.dim() - 1)))
    other = h[partner].detach() if detach else h[partner]
    return lam * h + (1 - lam) * other


@dataclass
class Mixing:
    """One mini-batch's mixing: coefficients, partners, where to mix, and the mixed targets."""

    lam: torch.Tensor
    partner: torch.Tensor
    position: int  # 0 = the input, k = the output of block k
    labels: LabelMix | None = None  # None: every sample keeps its own label
    detach: bool = False  # stop the gradient through the partner's features
    after_norm: bool = False  # mix after the next block's normalisation (BatchNorm sees the un-mixed batch)

    def apply(self, h: torch.Tensor) -> torch.Tensor:
        return blend(h, self.lam, self.partner, self.detach)


class Mixer:
    """Interface: a strength per epoch, a ``Mixing`` per batch, and a look at each epoch's record."""

    name = "mixer"

    def strength_at(self, epoch: int) -> float:
        """The MFW strength of ``epoch`` (0-based); mixers without one report 0."""
        return 0.0

    def draw(self, labels: torch.Tensor, strength: float) -> Mixing:
        raise NotImplementedError

    def after_epoch(self, train_acc: list[float], groups: dict[str, list[int]]) -> None:
        """Called with each epoch's per-class training accuracy."""


class Mixup(Mixer):
    """Input mixup: one ``λ ~ Beta(α, α)`` per batch, the targets mixed with the same ``λ``."""

    name = "mixup"

    def __init__(self, alpha: float = 1.0, seed: int = 0):
        self.alpha = alpha
        self.rng = np.random.default_rng([seed, 17])

    def coefficients(self, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(labels)
        lam = torch.full((n,), float(self.rng.beta(self.alpha, self.alpha)), device=labels.device)
        partner = torch.as_tensor(self.rng.permutation(n), dtype=torch.long, device=labels.device)
        return lam, partner

    def label_lam(self, labels: torch.Tensor, lam: torch.Tensor, partner: torch.Tensor) -> torch.Tensor:
        return lam

    def draw(self, labels: torch.Tensor, strength: float) -> Mixing:
        lam, partner = self.coefficients(labels)
        return Mixing(lam, partner, 0, LabelMix(self.label_lam(labels, lam, partner), partner))

    def __repr__(self) -> str:
        return f"Mixup(alpha={self.alpha:g})"


class Remix(Mixup):
    """Mixup whose target goes to the minor class when the pair is imbalanced enough (κ, τ)."""

    name = "remix"

    def __init__(self, counts: list[int], alpha: float = 1.0, kappa: float = 3.0, tau: float = 0.5,
                 seed: int = 0):
        super().__init__(alpha, seed)
        self.counts = torch.as_tensor(counts, dtype=torch.float64)
        self.kappa, self.tau = kappa, tau

    def label_lam(self, labels: torch.Tensor, lam: torch.Tensor, partner: torch.Tensor) -> torch.Tensor:
        n = self.counts.to(labels.device)
        ratio = n[labels] / n[labels[partner]]
        lam_y = lam.clone()
        lam_y[(ratio >= self.kappa) & (lam < self.tau)] = 0.0
        lam_y[(ratio <= 1 / self.kappa) & (1 - lam < self.tau)] = 1.0
        return lam_y

    def __repr__(self) -> str:
        return f"Remix(alpha={self.alpha:g}, kappa={self.kappa:g}, tau={self.tau:g})"
