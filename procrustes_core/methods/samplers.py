"""Samplers: which training samples an epoch visits, and how often each class is drawn.

Every sampler has the same two steps: ``prepare(x, y)`` once (SMOTE adds synthetic samples
there; the others keep the data), then ``order(y, generator)`` each epoch, the indices of the
epoch's samples in mini-batch order. With class counts ``n_c`` and ``N = Σ n_c``:

    instance        every sample once per epoch, shuffled                    P(class c) = n_c / N
    class-balanced  N draws with replacement, P(sample i) ∝ 1 / n_{y_i}      P(class c) = 1 / C
    square-root     N draws with replacement, P(sample i) ∝ n_{y_i}^(-1/2)   P(class c) ∝ √n_c
    oversample      every class topped up to n_max by repeating random samples, shuffled
    undersample     n_min random samples of every class, redrawn each epoch
    smote           minor classes topped up to n_max with SMOTE's synthetic points, then instance
    borderline-smote  the same with Borderline-SMOTE (synthesis near the class border only)

An epoch's samples are cut into mini-batches of the batch size; the last one keeps what is left
(``epoch_size % batch_size``). ``last_batch_warning`` says when that remainder is so small that BatchNorm
would normalise it with the statistics of a handful of samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..errors import ProcrustesError

SMALL_LAST_BATCH = 0.25  # a last mini-batch under this share of the batch size is warned of (with BatchNorm)


def _class_counts(labels: torch.Tensor) -> torch.Tensor:
    return torch.bincount(labels.cpu())


class Sampler:
    """Instance sampling: every sample once per epoch in a random order."""

    name = "instance"
    rebalances = False  # whether it changes the class proportions the network sees

    def prepare(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The pool the epochs draw from (the training set itself, unless synthesised)."""
        return x, y

    def epoch_size(self, counts: Sequence[int]) -> int:
        """How many samples one epoch visits when the pool has ``counts`` samples per class."""
        return int(sum(counts))

    def order(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return torch.randperm(len(labels), generator=generator)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PowerSampler(Sampler):
    """``len(labels)`` draws with replacement; class ``c`` drawn with probability ∝ ``n_c ** q``."""

    rebalances = True

    def __init__(self, q: float):
        self.q = q

    def order(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        counts = _class_counts(labels).double()
        per_sample = (counts ** self.q / counts)[labels.cpu()]
        return torch.multinomial(per_sample, len(labels), replacement=True, generator=generator)

    def __repr__(self) -> str:
        return f"PowerSampler(q={self.q:g})"


class RandomOverSampler(Sampler):
    """Every sample once, plus random repeats of the smaller classes up to ``n_max`` each."""

    name = "oversample"
    rebalances = True

    def epoch_size(self, counts: Sequence[int]) -> int:
        present = [c for c in counts if c > 0]
        return max(present) * len(present)

    def order(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        labels = labels.cpu()
        n_max = int(_class_counts(labels).max())
        parts = []
        for c in torch.unique(labels):
            members = torch.nonzero(labels == c).squeeze(1)
            extra = torch.randint(len(members), (n_max - len(members),), generator=generator)
            parts += [members, members[extra]]
        everything = torch.cat(parts)
        return everything[torch.randperm(len(everything), generator=generator)]


class RandomUnderSampler(Sampler):
    """``n_min`` samples of every class, drawn afresh each epoch (an epoch is short)."""

    name = "undersample"
    rebalances = True

    def epoch_size(self, counts: Sequence[int]) -> int:
        present = [c for c in counts if c > 0]
        return min(present) * len(present)

    def order(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        labels = labels.cpu()
        n_min = int(_class_counts(labels)[torch.unique(labels)].min())
        parts = []
        for c in torch.unique(labels):
            members = torch.nonzero(labels == c).squeeze(1)
            parts.append(members[torch.randperm(len(members), generator=generator)[:n_min]])
        everything = torch.cat(parts)
        return everything[torch.randperm(len(everything), generator=generator)]


class SyntheticOverSampler(Sampler):
    """SMOTE (or Borderline-SMOTE) from imbalanced-learn: new minor-class points on the segments
    between a sample and one of its ``k`` nearest same-class neighbours, ``x + u · (x_nn − x)``."""

    rebalances = True

    def __init__(self, variant: str = "smote", k_neighbors: int = 5, seed: int = 0):
        self.variant = variant
        self.k_neighbors = k_neighbors
        self.seed = seed

    def epoch_size(self, counts: Sequence[int]) -> int:
        """Of the training counts, SMOTE's pool tops every class up to ``n_max``; of the prepared pool's
        counts (or Borderline-SMOTE's, which synthesises near the border only), their sum."""
        present = [c for c in counts if c > 0]
        return max(present) * len(present) if self.variant == "smote" else int(sum(counts))

    def prepare(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from imblearn.over_sampling import SMOTE, BorderlineSMOTE

        n_min = int(_class_counts(y).min())
        if n_min < 2:
            raise ProcrustesError(f"sampler={self.variant!r}: needs at least 2 samples in every class, "
                                  f"the smallest class has {n_min}")
        k = min(self.k_neighbors, n_min - 1)
        method = SMOTE if self.variant == "smote" else BorderlineSMOTE
        flat = x.reshape(len(x), -1).cpu().numpy().astype(np.float64)
        x_new, y_new = method(k_neighbors=k, random_state=self.seed).fit_resample(flat, y.cpu().numpy())
        x_pool = torch.as_tensor(x_new, dtype=x.dtype).reshape(-1, *x.shape[1:]).to(x.device)
        return x_pool, torch.as_tensor(y_new, dtype=y.dtype, device=y.device)

    def __repr__(self) -> str:
        return f"SyntheticOverSampler(variant={self.variant!r}, k_neighbors={self.k_neighbors})"


def build_sampler(name: str, seed: int = 0) -> Sampler:
    """The sampler called ``name`` (``check_combination`` refuses SMOTE for images: interpolating
    pixels makes no new image)."""
    builders = {
        "instance": Sampler,
        "class-balanced": lambda: PowerSampler(0.0),
        "square-root": lambda: PowerSampler(0.5),
        "oversample": RandomOverSampler,
        "undersample": RandomUnderSampler,
        "smote": lambda: SyntheticOverSampler("smote", seed=seed),
        "borderline-smote": lambda: SyntheticOverSampler("borderline-smote", seed=seed),
    }
    sampler = builders[name]()
    sampler.name = name
    return sampler


def has_batchnorm(model: nn.Module) -> bool:
    """Whether any layer of ``model`` is a BatchNorm layer."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def _better_batch_size(epoch: int, batch_size: int) -> int | None:
    """The batch size nearest ``batch_size`` (within a quarter of it) whose last mini-batch is not small."""
    low, high = max(2, round(batch_size * 0.75)), round(batch_size * 1.25)
    fits = [b for b in range(low, high + 1) if epoch % b == 0 or epoch % b >= SMALL_LAST_BATCH * b]
    return min(fits, key=lambda b: (abs(b - batch_size), b)) if fits else None


def last_batch_warning(epoch_size: int, batch_size: int, batchnorm: bool) -> str | None:
    """One line when each epoch ends with a mini-batch under a quarter of ``batch_size`` and the network
    has BatchNorm (it normalises that batch by its own few samples: a noisy step each epoch), else None."""
    last = epoch_size % batch_size
    if not batchnorm or last == 0 or last >= SMALL_LAST_BATCH * batch_size or epoch_size <= batch_size:
        return None
    better = _better_batch_size(epoch_size, batch_size)
    instead = (f"batch size {better} (its last mini-batch: {epoch_size % better or better})" if better
               else "another batch size")
    return (f"each epoch of {epoch_size} samples ends with a mini-batch of {last} (batch size {batch_size}), which "
            f"BatchNorm normalises by its own {last} samples — a noisy step every epoch that can hide the over-fit "
            f"phase; choose {instead} or another number of samples")
