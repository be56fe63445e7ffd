"""Schedules over epochs: the learning rate, the per-class loss weights (fixed, deferred (DRW),
a curriculum, or adaptive gradient scaling), and MFW's mixing strength (``strength_at``).

    learning rate  constant: lr;  cosine: lr · ½(1 + cos(π e / E));  step-warmup (the long-tail CIFAR
                   recipe): linear warm-up over 5 epochs, then × 0.01 from 80 % and × 0.0001 from 90 %
                   of the epochs (epochs 160 and 180 of 200)

The training objective multiplies each sample's loss, and so its gradient, by a per-class loss
weight ``w_{y_i}`` (see losses.py). A loss-weight schedule decides those weights epoch by epoch:

    ramp ρ(e)      constant: 1;  linear: min(1, e / (until·E));  cosine: ½(1 − cos(π · min(1, e / (until·E))))
    weights        w(e) = 1 + ρ(e) · (w − 1)          uniform at ρ = 0, the full weights at ρ = 1
    DRW            ρ(e) = 0 for the first ``drw_epoch`` epochs, 1 after them (e is 0-based: DRW at
                   160 of 200 epochs re-weights from the 161st epoch on, as the LDAM-DRW reference)
    gradient scaling (adaptive)
                   w_c = min( (max_k G_k / G_c)^q , n_max / n_c ),   G_c = n_c · ḡ_c
                   ḡ_c = last epoch's mean feature-gradient norm of class c: every class's total
                   gradient is lifted towards the largest one, never beyond inverse frequency
"""

from __future__ import annotations

import math

import numpy as np

WARMUP_EPOCHS = 5


def learning_rate(schedule: str, lr: float, epoch: int, epochs: int) -> float:
    """Learning rate of ``epoch`` (0-based) of ``epochs`` under ``schedule`` (see the module docstring)."""
    if schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
    if schedule == "step-warmup":
        if epoch < WARMUP_EPOCHS and epochs > 2 * WARMUP_EPOCHS:
            return lr * (epoch + 1) / WARMUP_EPOCHS
        if epoch >= round(0.9 * epochs):
            return lr * 1e-4
        if epoch >= round(0.8 * epochs):
            return lr * 1e-2
    return lr


def ramp(kind: str, epoch: int, epochs: int, until: float = 1.0) -> float:
    """How far (0..1) a curriculum has moved at ``epoch`` (0-based) of ``epochs``."""
    if kind == "constant":
        return 1.0
    span = until * epochs
    t = min(1.0, epoch / span) if span > 0 else 1.0
    if kind == "linear":
        return t
    if kind == "cosine":
        return 0.5 * (1.0 - math.cos(math.pi * t))
    raise ValueError(f"unknown ramp {kind!r}")


class LossWeights:
    """Fixed target loss weights ``w`` reached along a ramp; ``at(epoch)`` is ``None`` while uniform."""

    name = "weights"

    def __init__(self, weights: np.ndarray | None, kind: str = "constant", epochs: int = 1, until: float = 1.0):
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        self.kind, self.epochs, self.until = kind, epochs, until

    def progress(self, epoch: int) -> float:
        return ramp(self.kind, epoch, self.epochs, self.until)

    def at(self, epoch: int) -> np.ndarray | None:
        if self.weights is None:
            return None
        rho = self.progress(epoch)
        if rho == 0.0:
            return None  # exactly the unweighted objective
        return 1.0 + rho * (self.weights - 1.0)

    def after_epoch(self, grad_norm: list[float]) -> None:
        """Called with each epoch's per-class feature-gradient norms (only adaptive scaling uses them)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kind})"


class DeferredReweighting(LossWeights):
    """DRW: uniform weights for the first ``start`` epochs, the full weights after them."""

    name = "drw"

    def __init__(self, weights: np.ndarray, start: int):
        super().__init__(weights)
        self.start = start

    def progress(self, epoch: int) -> float:
        return 1.0 if epoch >= self.start else 0.0

    def __repr__(self) -> str:
        return f"DeferredReweighting(start={self.start})"


class GradientScaling(LossWeights):
    """Adaptive per-class multipliers of the per-sample loss gradient, from last epoch's feature gradients."""

    name = "grad-scale"

    def __init__(self, counts: list[int], power: float = 1.0, kind: str = "constant", epochs: int = 1,
                 until: float = 1.0):
        super().__init__(None, kind, epochs, until)  # uniform until the first epoch has been measured
        self.counts = np.asarray(counts, dtype=np.float64)
        self.power = power

    def after_epoch(self, grad_norm: list[float]) -> None:
        mass = self.counts * np.nan_to_num(np.asarray(grad_norm, dtype=np.float64), nan=0.0)
        mass = np.maximum(mass, 1e-12)
        scale = (mass.max() / mass) ** self.power
        self.weights = np.minimum(scale, self.counts.max() / self.counts)

    def __repr__(self) -> str:
        return f"GradientScaling(power={self.power:g}, {self.kind})"


MAJOR_FITTED = 0.9  # the major classes count as fitted from this training accuracy on
CAUGHT_UP = 0.9  # the minor classes have caught up when their training accuracy is within this share of the major's


def caught_up(head_acc: float, tail_acc: float, major_fitted: bool = False) -> bool:
    """Whether the minor classes' training accuracy has caught up with the major classes' (within
    ``CAUGHT_UP`` of it); with ``major_fitted``, only once the major classes are fitted, so two classes
    both near chance do not count. MFW's ``until-equal`` schedule and the narrator both ask this."""
    return tail_acc >= CAUGHT_UP * head_acc and (not major_fitted or head_acc >= MAJOR_FITTED)


def strength_at(schedule: str, strength: float, epoch: int, epochs: int, until: float,
                progress_equal: bool = False) -> float:
    """The mixing strength used in ``epoch`` (0-based) of ``epochs``.

    ``constant``: ``s`` throughout. ``warmup``: ``s`` for the first ``until`` fraction of epochs
    (⌈until · E⌉ epochs: 3 of 5 at one half), then 0. ``linear``: from ``s`` down to 0 at that
    fraction; ``cosine``: the same along a half cosine, ``s · ½(1 + cos(π e / (until·E)))``.
    ``until-equal``: ``s`` until the major classes are fitted (``MAJOR_FITTED`` training accuracy) and
    the minor classes have ``caught_up`` (``CAUGHT_UP`` of theirs), then 0.
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
