"""The price of a training before it runs, and a server's budget that refuses what it cannot afford.

    price(config, seeds)   parameters, samples and optimiser steps per epoch after the sampler,
                           floating-point operations (a meta-device forward pass counted by torch's
                           FlopCounterMode: nothing is computed, no data are generated), memory
    Budget.check(...)      one line naming the cap when a request exceeds it (check_all: several runs)
    Budget.clamp(config)   the config lowered to the caps, each lowering said (links are read leniently)
    Budget.seeds_within    the most seeds a request of a config may train

Several seeds trained stacked in one process (``stacked.py``) do the same arithmetic in less time than
as many trainings one after another: ``stacked_effort`` says how many one-seed trainings' time they take
(measured by ``benchmarks/stacked_seeds.py``), and ``Price.effort`` is what a request's time is reckoned
from (the service's wait estimate). The caps count the arithmetic (``Price.flops``).

Training costs about 3 forward passes per sample (forward, backward through activations and weights);
the per-epoch evaluation passes about 2 per training sample (the feature gradient goes back to the
penultimate features only) and 1 per test or validation sample.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..config import TrainConfig
from ..data.datasets import Outline, counts_for, outline
from ..data.registry import dataset_entry
from ..errors import ProcrustesError
from ..methods.catalogue import SYNTHETIC

BYTES_PER_PARAMETER = 4 * 4  # fp32 weights, gradients, momentum (or Adam's two moments) and a copy in flight
# S seeds stacked cost STACKED_FIXED + STACKED_PER_SEED × S one-seed trainings of time, a line through the
# measured points (benchmarks/results/stacked_seeds.md, one thread: 1.0× at 1 seed, 5.3× at 8)
STACKED_FIXED = 0.39
STACKED_PER_SEED = 0.61


def stacked_effort(seeds: int) -> float:
    """The time of ``seeds`` seeds trained stacked, in one-seed trainings (1 for one seed)."""
    return 1.0 if seeds <= 1 else min(float(seeds), STACKED_FIXED + STACKED_PER_SEED * seeds)


@dataclass(frozen=True)
class Price:
    """What one request (a config trained on ``seeds`` seeds) will cost."""

    seeds: int
    epochs: int
    train_samples: int  # distinct training samples of one seed
    samples_per_epoch: int  # what the sampler visits per epoch (over-sampling visits more)
    steps_per_epoch: int
    parameters: int
    flops_per_sample: float  # one forward pass
    flops_per_epoch: float  # training plus evaluation, one seed
    stacked: bool = False  # the seeds train together in one stacked network (one slot)

    @property
    def steps(self) -> int:
        """Optimiser steps of the whole request."""
        return self.steps_per_epoch * self.epochs * self.seeds

    @property
    def flops(self) -> float:
        return self.flops_per_epoch * self.epochs * self.seeds

    @property
    def effort(self) -> float:
        """The request's time in FLOPs of one-seed trainings: ``flops``, less for stacked seeds."""
        seeds = stacked_effort(self.seeds) if self.stacked else self.seeds
        return self.flops_per_epoch * self.epochs * seeds

    @property
    def memory_bytes(self) -> int:
        """Parameters and optimiser state of one seed (activations of small batches are far less)."""
        return self.parameters * BYTES_PER_PARAMETER

    def describe(self) -> str:
        return (f"{self.seeds} × {self.epochs} epochs of {self.steps_per_epoch} steps, "
                f"{self.parameters / 1e6:.2f} M parameters, {self.flops / 1e12:.2f} TFLOP")


def epoch_length(sampler: str, counts: list[int]) -> int:
    """Samples one epoch visits under ``sampler`` (see methods/samplers.py)."""
    if sampler == "oversample" or sampler in SYNTHETIC:
        return len(counts) * max(counts)
    if sampler == "undersample":
        return len(counts) * min(counts)
    return sum(counts)


@functools.lru_cache(maxsize=256)
def _network_cost(model: str, input_shape: tuple[int, ...], num_classes: int, width: int, kind: str, dataset: str,
                  norm: str, backbone_size: int = 224) -> tuple[int, float]:
    """Parameters and forward FLOPs per sample of a network, built on the meta device (no memory)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ..models.nets import build_model

    with torch.device("meta"):
        net = build_model(model, input_shape, num_classes, width, kind, dataset, norm=norm, backbone_size=backbone_size)
        x = torch.empty(1, *input_shape)
    parameters = sum(p.numel() for p in net.parameters())
    with FlopCounterMode(display=False) as counter:
        net.eval()(x)
    return parameters, float(counter.get_total_flops())


def price(config: TrainConfig, seeds: int = 1, pool: Outline | None = None) -> Price:
    """The cost of training ``config`` on ``seeds`` seeds, from the data's outline (nothing generated)."""
    pool = pool or outline(config)
    counts = counts_for(config, pool)
    kind = {1: "vector", 2: "signal", 3: "image"}[len(pool.input_shape)]
    parameters, per_sample = _network_cost(config.model, pool.input_shape, pool.num_classes, config.width, kind,
                                           config.dataset, config.norm, config.backbone_size)
    visited = epoch_length(config.sampler, counts)
    steps = math.ceil(visited / config.batch_size)
    evaluated = 2 * sum(counts) + pool.test_per_class * pool.num_classes + config.val_per_class * pool.num_classes
    return Price(seeds, config.epochs, sum(counts), visited, steps, parameters, per_sample,
                 per_sample * (3 * visited + evaluated / config.eval_every))


@dataclass(frozen=True)
class Budget:
    """What one request may cost on this server (each cap a ``PROCRUSTES_MAX_*`` setting)."""

    max_epochs: int = 200
    max_train_samples: int = 60_000
    max_generated_samples: int = 60_000
    max_parameters: int = 5_000_000
    max_seeds: int = 8
    max_steps: int = 100_000
    max_tflop: float = 20.0

    def _caps(self, config: TrainConfig) -> list[tuple[str, int, int, str]]:
        """The settings this server caps as they are: (setting, value, cap, what the cap says)."""
        caps = [("epochs", config.epochs, self.max_epochs,
                 f"this server allows at most {self.max_epochs} (PROCRUSTES_MAX_EPOCHS)")]
        if dataset_entry(config.dataset).generated:  # generated here: n_samples of them
            caps.append(("n_samples", config.n_samples, self.max_generated_samples,
                         f"this server generates at most {self.max_generated_samples} samples "
                         "(PROCRUSTES_MAX_GENERATED_SAMPLES)"))
        return caps

    def clamp(self, config: TrainConfig) -> tuple[TrainConfig, list[str]]:
        """The config with each capped setting lowered to its cap, and one phrase per setting lowered (a
        link is read leniently: what it asks beyond a cap is lowered and said, never refused)."""
        lowered = {name: cap for name, value, cap, _ in self._caps(config) if value > cap}
        said = [f"{name}={value}: {why} — set to {cap}" for name, value, cap, why in self._caps(config)
                if name in lowered]
        return (config.replace(**lowered) if lowered else config), said

    def check_request(self, config: TrainConfig, seeds: int = 1) -> None:
        """The caps that need no pricing: refused before any outline is read or data generated."""
        if seeds > self.max_seeds:
            raise ProcrustesError(f"seeds={seeds}: this server trains at most {self.max_seeds} seeds at once "
                                  "(PROCRUSTES_MAX_SEEDS)")
        for name, value, cap, why in self._caps(config):
            if value > cap:
                raise ProcrustesError(f"{name}={value}: {why}")

    def _check_work(self, steps: int, flops: float, what: str) -> None:
        """A request's optimiser steps and floating-point work against the caps (``what``: the request)."""
        if steps > self.max_steps:
            raise ProcrustesError(f"{steps} optimiser steps ({what}): this server allows {self.max_steps} per "
                                  "request (PROCRUSTES_MAX_STEPS); raise batch_size or lower epochs or seeds")
        if flops > self.max_tflop * 1e12:
            raise ProcrustesError(f"{flops / 1e12:.1f} TFLOP ({what}): this server allows {self.max_tflop:g} TFLOP "
                                  "per request (PROCRUSTES_MAX_TFLOP); lower epochs, width, samples or seeds")

    def check(self, config: TrainConfig, seeds: int = 1) -> Price:
        """The request's price, or one line naming the first cap it exceeds."""
        self.check_request(config, seeds)
        cost = price(config, seeds)
        if cost.train_samples > self.max_train_samples:
            raise ProcrustesError(f"{cost.train_samples} training samples: this server allows at most "
                                  f"{self.max_train_samples} per run (PROCRUSTES_MAX_TRAIN_SAMPLES); raise the "
                                  "ratio or lower n_max / n_samples")
        if cost.parameters > self.max_parameters:
            raise ProcrustesError(f"model={config.model!r}, width={config.width}: {cost.parameters / 1e6:.1f} M "
                                  f"parameters, this server allows {self.max_parameters / 1e6:.1f} M "
                                  "(PROCRUSTES_MAX_PARAMETERS); lower the width")
        self._check_work(cost.steps, cost.flops, cost.describe())
        return cost

    def check_all(self, configs: Sequence[TrainConfig], seeds: int = 1) -> list[Price]:
        """Each run of a request priced and checked on ``seeds`` seeds, then the whole request's work:
        one line naming the first cap exceeded."""
        costs = [self.check(config, seeds) for config in configs]
        if len(costs) > 1:
            self._check_work(sum(c.steps for c in costs), sum(c.flops for c in costs),
                             f"{len(costs) * seeds} trainings")
        return costs

    def seeds_within(self, config: TrainConfig, most: int) -> int:
        """The most seeds, up to ``most``, that one request of ``config`` may train here; 1 when even one
        is over budget (training it then says why)."""
        for count in range(min(most, self.max_seeds), 1, -1):
            try:
                self.check(config, count)
                return count
            except ProcrustesError:
                continue
        return 1
