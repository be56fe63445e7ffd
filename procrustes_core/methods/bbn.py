"""BBN: a conventional and a re-balancing branch, handed over from one to the other by cumulative learning.

After "BBN: Bilateral-Branch Network with Cumulative Learning for Long-Tailed Visual Recognition"
(CVPR 2020). The network (``models.nets.TwoBranchNet``) shares its early blocks; its last block comes
twice, as the conventional branch ``f_c`` and the re-balancing branch ``f_r``. Every step trains on
two mini-batches of the same size:

    x_c, y_c   from the instance sampler (every sample once per epoch: the data as they are)
    x_r, y_r   from the reversed sampler: class c drawn with probability ∝ w_c = n_max / n_c, so ∝ 1/n_c
               (a sample of class c with probability ∝ 1/n_c²), N draws with replacement

    α  = 1 − (e / E)²                                   e = the epoch (0-based), E = the epochs
    z  = 2(α W_c f_c(x_c) + (1 − α) W_r f_r(x_r)) + b   (one classifier on [2α f_c, 2(1 − α) f_r])
    L  = α ℓ(z, y_c) + (1 − α) ℓ(z, y_r)

so training starts on the conventional branch alone (α = 1) and moves over to the re-balancing one
as α falls. At evaluation both branches see the same input and α = ½. The reversed sampler corrects
for the class prior (BBN counts as one prior correction, and draws its batches itself: the run's
sampler stays ``instance``). With a mixer, each branch's batch gets a mixing of its own, at the same
position; ``ℓ`` is the run's loss (with mixed labels if the mixer mixes them).
"""

from __future__ import annotations

import numpy as np
import torch

from ..models.nets import TwoBranchNet
from .losses import Loss
from .mixers import Mixer
from .samplers import PowerSampler


def alpha_at(epoch: int, epochs: int) -> float:
    """Cumulative learning's weight of the conventional branch in ``epoch`` (0-based) of ``epochs``."""
    return 1.0 - (epoch / epochs) ** 2


class ReversedSampler(PowerSampler):
    """``len(labels)`` draws with replacement, class ``c`` drawn with probability ∝ ``n_max / n_c``."""

    name = "reversed"

    def __init__(self):
        super().__init__(-1.0)

    def __repr__(self) -> str:
        return "ReversedSampler()"


class CumulativeLearning:
    """What BBN adds to the training loop: the reversed sampler with a random stream of its own (the
    instance order of the conventional branch stays the one a plain run draws), α per epoch, and one
    step's objective."""

    def __init__(self, epochs: int, seed: int = 0):
        self.epochs = epochs
        self.sampler = ReversedSampler()
        self.rng = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, 19]).generate_state(1)[0]))

    def alpha_at(self, epoch: int) -> float:
        return alpha_at(epoch, self.epochs)

    def order(self, labels: torch.Tensor) -> torch.Tensor:
        """The re-balancing branch's samples for one epoch, as many as the conventional branch's."""
        return self.sampler.order(labels, self.rng)

    @staticmethod
    def objective(model: TwoBranchNet, loss: Loss, mixer: Mixer | None, strength: float, alpha: float,
                  loss_weights: torch.Tensor | None, x_c: torch.Tensor, y_c: torch.Tensor, x_r: torch.Tensor,
                  y_r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The training logits ``z`` and the objective ``α ℓ(z, y_c) + (1 − α) ℓ(z, y_r)`` of one step."""
        features, mixes = [], []
        for branch, (x, y) in enumerate(((x_c, y_c), (x_r, y_r))):
            if mixer is None:
                features.append(model.branch_features(x, branch))
                mixes.append(None)
            else:
                mixing = mixer.draw(y, strength)
                features.append(model.branch_features(x, branch, mixing.apply, mixing.position, mixing.after_norm))
                mixes.append(mixing.labels)
        logits = model.combine(features[0], features[1], alpha).float()
        value = alpha * loss(logits, y_c, loss_weights, mixes[0]) + (1 - alpha) * loss(logits, y_r, loss_weights,
                                                                                     mixes[1])
        return logits, value

    def __repr__(self) -> str:
        return f"CumulativeLearning(epochs={self.epochs})"
