"""Build the objects one run's training loop calls — loss, sampler, mixer, loss-weight schedule,
post-hoc setting and BBN's cumulative learning — from a ``TrainConfig`` and the run's class counts."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import TrainConfig
from .bbn import CumulativeLearning
from .losses import Loss, build_loss, effective_number_weights
from .mfw import MajorFeatureWeakening
from .mixers import Mixer, Mixup, Remix
from .posthoc import PostHoc
from .samplers import Sampler, build_sampler
from .schedules import DeferredReweighting, GradientScaling, LossWeights


@dataclass
class RunMethods:
    """The objects one run's training loop calls."""

    loss: Loss
    sampler: Sampler
    mixer: Mixer | None  # None: no mixing at all
    loss_weights: LossWeights
    posthoc: PostHoc
    branches: CumulativeLearning | None = None  # BBN's second sampler and α schedule; None: one branch


def build_mixer(config: TrainConfig, counts: list[int], position: int, num_positions: int) -> Mixer | None:
    """The config's mixer; MFW mixes at ``position`` of a model with ``num_positions`` (−1: random)."""
    c = config
    if c.mixer == "mfw":
        return MajorFeatureWeakening.from_config(c, counts, position, num_positions)
    if c.mixer == "mixup":
        return Mixup(c.mixup_alpha, seed=c.seed)
    if c.mixer == "remix":
        return Remix(counts, c.mixup_alpha, c.remix_kappa, c.remix_tau, seed=c.seed)
    return None


def build_methods(config: TrainConfig, counts: list[int], mix_position: int = -1,
                  num_positions: int = 1) -> RunMethods:
    """The loss, sampler, mixer, loss-weight schedule, post-hoc setting and BBN's cumulative learning (if
    ``bbn``) of ``config`` for ``counts``."""
    c, counts = config, list(counts)
    loss = build_loss(c.loss, counts, focal_gamma=c.focal_gamma, cb_beta=c.cb_beta,
                      ldam_max_margin=c.ldam_max_margin, ldam_scale=c.ldam_scale, la_loss_tau=c.la_loss_tau,
                      cdt_gamma=c.cdt_gamma)
    sampler = build_sampler(c.sampler, seed=c.seed)
    if c.drw_epoch:
        weights: LossWeights = DeferredReweighting(effective_number_weights(counts, c.cb_beta), c.drw_epoch)
    elif c.grad_scale == "adaptive":
        weights = GradientScaling(counts, c.grad_scale_power, c.weight_schedule, c.epochs, c.weight_until)
    else:
        weights = LossWeights(loss.loss_weights, c.weight_schedule, c.epochs, c.weight_until)
    mixer = build_mixer(c, counts, mix_position, num_positions)
    branches = CumulativeLearning(c.epochs, seed=c.seed) if c.bbn else None
    return RunMethods(loss, sampler, mixer, weights, PostHoc(c.la_tau, c.tau_norm), branches)
