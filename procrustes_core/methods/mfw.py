"""Major feature weakening (MFW): mix major-class features with other samples', keep the label.

Our formulation (after the abstract of "Procrustean Training for Imbalanced Deep Learning",
arXiv 2104.01769), for a mini-batch with labels ``y`` and strength ``s``:

    w_c   = ((n_c - n_min) / (n_max - n_min)) ** gamma      1 for the largest class, 0 the smallest
    j     = perm(i)                                          a random partner in the batch
    lam_i = 1 - s * w_{y_i} * u_i,   u_i ~ U(0, 1)  (or Beta(alpha, alpha))
    h_i  <- lam_i * h_i + (1 - lam_i) * h_j                  the label stays y_i

so the network cannot fit the major classes first. ``h`` is the representation at one position
of the network (the input, the output of a block, or a block drawn at random each step); the
partner's features are not detached (``mfw_detach`` stops that gradient, as an ablation: the partner's
share then reads as a constant, each sample lowers its loss by growing its own features, and at the
penultimate features, with nothing to normalise that growth, training diverges — see
benchmarks/results/detach_norm.md). Nothing is mixed at evaluation. The strength may follow a schedule
over epochs (``strength_at``). This file is the whole method: the trainer calls ``draw`` once per
mini-batch and hands the result to the model's forward pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from ..data.imbalance import head_and_tail
from ..names import MFW
from .mixers import Mixer, Mixing, blend
from .schedules import caught_up, strength_at  # torch-free, so the narrator uses the same rules

if TYPE_CHECKING:
    from ..config import TrainConfig


def _scaled(values: np.ndarray, gamma: float) -> np.ndarray:
    spread = values.max() - values.min()
    if spread <= 0:
        return np.zeros_like(values, dtype=np.float64)
    return ((values - values.min()) / spread) ** gamma


def count_weights(counts: list[int], gamma: float = 1.0) -> np.ndarray:
    """Weakening weights from class sizes: 1 for the largest class, 0 for the smallest (all 0 if balanced)."""
    return _scaled(np.asarray(counts, dtype=np.float64), gamma)


def progress_weights(train_acc: list[float], gamma: float = 1.0) -> np.ndarray:
    """Weakening weights from training progress: 1 for the class fitted best, 0 for the one fitted worst."""
    return _scaled(np.asarray(train_acc, dtype=np.float64), gamma)


class MajorFeatureWeakening(Mixer):
    """MFW: per-class weakening weights, a partner and a coefficient per sample, a strength schedule
    over epochs, and the position in the network where features are mixed."""

    name = "mfw"

    def __init__(self, counts: list[int], strength: float = MFW.strength, position: int = 0, num_positions: int = 1,
                 schedule: str = MFW.schedule, epochs: int = 1, until: float = MFW.until, gamma: float = MFW.gamma,
                 coef: str = MFW.coef, alpha: float = MFW.alpha, prob: float = MFW.prob, weights: str = MFW.weights,
                 detach: bool = MFW.detach, after_norm: bool = MFW.after_norm, seed: int = 0):
        self.weakening_weights = count_weights(counts, gamma)  # w_c, one per class
        self.strength, self.schedule, self.epochs, self.until = strength, schedule, epochs, until
        self.position = position  # -1: drawn at random each step among num_positions
        self.num_positions = num_positions
        self.gamma, self.coef, self.alpha, self.prob, self.weights = gamma, coef, alpha, prob, weights
        self.detach = detach  # stop the gradient through the partner's features (an ablation)
        self.after_norm = after_norm  # BatchNorm normalises the un-mixed batch, then the mix
        self.rng = np.random.default_rng([seed, 11])  # its own stream: mixing never shifts the batch order
        self.position_rng = np.random.default_rng([seed, 13])
        self.progress_equal = False

    @classmethod
    def from_config(cls, config: TrainConfig, counts: list[int], position: int = 0,
                    num_positions: int = 1) -> MajorFeatureWeakening:
        """MFW as ``config`` sets it: every ``mfw_<knob>`` setting is this class's ``<knob>`` argument
        (``mfw_layer`` is the ``position`` the model resolved), over the run's epochs and seed."""
        knobs = {name.removeprefix("mfw_"): value for name, value in config.to_dict().items()
                 if name.startswith("mfw_") and name != "mfw_layer"}
        return cls(list(counts), position=position, num_positions=num_positions, epochs=config.epochs,
                   seed=config.seed, **knobs)

    def strength_at(self, epoch: int) -> float:
        return strength_at(self.schedule, self.strength, epoch, self.epochs, self.until, self.progress_equal)

    def coefficients(self, labels: torch.Tensor, strength: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``lam`` (one per sample) and the partner index of each sample."""
        n = len(labels)
        partner = self.rng.permutation(n)
        u = self.rng.beta(self.alpha, self.alpha, n) if self.coef == "beta" else self.rng.random(n)
        weight = self.weakening_weights[labels.cpu().numpy()]
        if self.prob < 1:
            weight = weight * (self.rng.random(n) < self.prob)
        lam = 1.0 - strength * weight * u
        device = labels.device
        return (torch.as_tensor(lam, dtype=torch.float32, device=device),
                torch.as_tensor(partner, dtype=torch.long, device=device))

    def draw(self, labels: torch.Tensor, strength: float) -> Mixing:
        lam, partner = self.coefficients(labels, strength)
        at = self.position if self.position >= 0 else int(self.position_rng.integers(self.num_positions))
        return Mixing(lam, partner, at, detach=self.detach, after_norm=self.after_norm)

    mix = staticmethod(blend)

    def __call__(self, h: torch.Tensor, labels: torch.Tensor, strength: float) -> torch.Tensor:
        """Weaken a batch of representations ``h`` directly (for a lesson, or your own model)."""
        lam, partner = self.coefficients(labels, strength)
        return blend(h, lam, partner, detach=self.detach)

    def after_epoch(self, train_acc: list[float], groups: dict[str, list[int]]) -> None:
        """Progress-based weights follow the training accuracy; ``until-equal`` watches the gap."""
        if self.weights == "progress":
            self.weakening_weights = progress_weights(train_acc, self.gamma)
        head, tail = head_and_tail(groups)
        head_acc = float(np.mean([train_acc[k] for k in head]))
        tail_acc = float(np.mean([train_acc[k] for k in tail]))
        if caught_up(head_acc, tail_acc, major_fitted=True):
            self.progress_equal = True

    def __repr__(self) -> str:
        return (f"MajorFeatureWeakening(strength={self.strength:g}, schedule={self.schedule!r}, "
                f"position={self.position})")
