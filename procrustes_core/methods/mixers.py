"""Mixers: blend each sample of a mini-batch with a partner sample, at the input or inside the network.

All three share one step, ``h_i ← λ_i · h_i + (1 − λ_i) · h_j`` with ``j = perm(i)``; they differ in
how ``λ`` is drawn and in what happens to the label:

    mfw     major feature weakening (see mfw.py): λ_i = 1 − s · w_{y_i} · u_i, the label stays y_i
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

from ..imbalance import head_and_tail
from .losses import LabelMix
from .mfw import MajorFeatureWeakening, progress_weights, strength_at


@dataclass
class Mixing:
    """One mini-batch's mixing: coefficients, partners, where to mix, and the mixed targets."""

    lam: torch.Tensor
    partner: torch.Tensor
    position: int  # 0 = the input, k = the output of block k
    labels: LabelMix | None = None  # None: every sample keeps its own label

    def apply(self, h: torch.Tensor) -> torch.Tensor:
        return MajorFeatureWeakening.mix(h, self.lam, self.partner)


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


class FeatureWeakening(Mixer):
    """MFW at a fixed position (or one drawn each step), with its strength schedule."""

    name = "mfw"

    def __init__(self, weakening: MajorFeatureWeakening, position: int, num_positions: int, strength: float,
                 schedule: str, epochs: int, until: float, weights: str = "count", gamma: float = 1.0,
                 seed: int = 0):
        self.weakening = weakening
        self.position = position  # -1: drawn at random each step
        self.num_positions = num_positions
        self.strength, self.schedule, self.epochs, self.until = strength, schedule, epochs, until
        self.weights, self.gamma = weights, gamma
        self.position_rng = np.random.default_rng([seed, 13])
        self.progress_equal = False

    def strength_at(self, epoch: int) -> float:
        return strength_at(self.schedule, self.strength, epoch, self.epochs, self.until, self.progress_equal)

    def draw(self, labels: torch.Tensor, strength: float) -> Mixing:
        lam, partner = self.weakening.draw(labels, strength)
        at = self.position if self.position >= 0 else int(self.position_rng.integers(self.num_positions))
        return Mixing(lam, partner, at)

    def after_epoch(self, train_acc: list[float], groups: dict[str, list[int]]) -> None:
        """Progress-based weights follow the training accuracy; ``until-equal`` watches the gap."""
        if self.weights == "progress":
            self.weakening.class_weights = progress_weights(train_acc, self.gamma)
        head, tail = head_and_tail(groups)
        head_acc = float(np.mean([train_acc[k] for k in head]))
        tail_acc = float(np.mean([train_acc[k] for k in tail]))
        if tail_acc >= 0.9 * head_acc:
            self.progress_equal = True


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
