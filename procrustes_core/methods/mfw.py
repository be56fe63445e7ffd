"""Major feature weakening (MFW): mix major-class features with other samples', keep the label.

Our formulation (after the abstract of "Procrustean Training for Imbalanced Deep Learning",
arXiv 2104.01769), for a mini-batch with labels ``y`` and strength ``s``:

    w_c   = ((n_c - n_min) / (n_max - n_min)) ** gamma      1 for the largest class, 0 the smallest
    j     = perm(i)                                          a random partner in the batch
    lam_i = 1 - s * w_{y_i} * u_i,   u_i ~ U(0, 1)  (or Beta(alpha, alpha))
    h_i  <- lam_i * h_i + (1 - lam_i) * h_j                  the label stays y_i

so the network cannot fit the major classes first. Nothing is mixed at evaluation.
"""

from __future__ import annotations

import math

import numpy as np
import torch

# The strength to start from when weakening is turned on. With the config's defaults (penultimate
# features, first half of training) it did best on a validation split of MNIST-1D step-100 among the
# variants in benchmarks/results/reproduce_study*.md.
RECOMMENDED_STRENGTH = 0.5


def _scaled(values: np.ndarray, gamma: float) -> np.ndarray:
    spread = values.max() - values.min()
    if spread <= 0:
        return np.zeros_like(values, dtype=np.float64)
    return ((values - values.min()) / spread) ** gamma


def count_weights(counts: list[int], gamma: float = 1.0) -> np.ndarray:
    """Class weights from class sizes: 1 for the largest class, 0 for the smallest (all 0 if balanced)."""
    return _scaled(np.asarray(counts, dtype=np.float64), gamma)


def progress_weights(train_acc: list[float], gamma: float = 1.0) -> np.ndarray:
    """Class weights from training progress: 1 for the class fitted best, 0 for the one fitted worst."""
    return _scaled(np.asarray(train_acc, dtype=np.float64), gamma)


class MajorFeatureWeakening:
    """Draws a partner and a coefficient per sample, and mixes a representation with them."""

    def __init__(self, class_weights: np.ndarray, coefficient: str = "uniform", alpha: float = 1.0,
                 prob: float = 1.0, seed: int | list[int] = 0):
        self.class_weights = np.asarray(class_weights, dtype=np.float64)
        self.coefficient = coefficient
        self.alpha = alpha
        self.prob = prob
        self.rng = np.random.default_rng(seed)  # its own stream: mixing never shifts the batch order

    def draw(self, labels: torch.Tensor, strength: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``lam`` (one per sample) and the partner index of each sample."""
        n = len(labels)
        partner = self.rng.permutation(n)
        if self.coefficient == "beta":
            u = self.rng.beta(self.alpha, self.alpha, n)
        else:
            u = self.rng.random(n)
        weight = self.class_weights[labels.cpu().numpy()]
        if self.prob < 1:
            weight = weight * (self.rng.random(n) < self.prob)
        lam = 1.0 - strength * weight * u
        device = labels.device
        return (torch.as_tensor(lam, dtype=torch.float32, device=device),
                torch.as_tensor(partner, dtype=torch.long, device=device))

    @staticmethod
    def mix(h: torch.Tensor, lam: torch.Tensor, partner: torch.Tensor) -> torch.Tensor:
        """``lam_i * h_i + (1 - lam_i) * h_partner(i)``, broadcast over feature dimensions."""
        lam = lam.reshape(-1, *([1] * (h.dim() - 1)))
        return lam * h + (1 - lam) * h[partner]

    def __call__(self, h: torch.Tensor, labels: torch.Tensor, strength: float) -> torch.Tensor:
        lam, partner = self.draw(labels, strength)
        return self.mix(h, lam, partner)


def strength_at(schedule: str, strength: float, epoch: int, epochs: int, until: float,
                progress_equal: bool = False) -> float:
    """The mixing strength used in ``epoch`` (0-based) of ``epochs``.

    ``constant``: ``s`` throughout. ``warmup``: ``s`` for the first ``until`` fraction of
    epochs, then 0. ``linear``: from ``s`` down to 0 at that fraction; ``cosine``: the same along a
    half cosine, ``s · ½(1 + cos(π e / (until·E)))``. ``until-equal``: ``s``
    until the training accuracy of the least-fitted classes has caught up, then 0.
    """
    if schedule == "constant":
        return strength
    if schedule == "warmup":
        return strength if epoch < math.ceil(until * epochs - 1e-9) else 0.0
    if schedule == "linear":
        span = until * epochs
        return strength * max(0.0, 1.0 - epoch / span) if span > 0 else 0.0
    if schedule == "cosine":
        span = until * epochs
        return strength * 0.5 * (1.0 + math.cos(math.pi * epoch / span)) if epoch < span else 0.0
    if schedule == "until-equal":
        return 0.0 if progress_equal else strength
    raise ValueError(f"unknown schedule {schedule!r}")
