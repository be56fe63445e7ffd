"""Class weights over epochs: fixed, deferred (DRW), a curriculum, or adaptive gradient scaling.

The training objective multiplies each sample's loss, and so its gradient, by a per-class weight
``w_{y_i}`` (see losses.py). A schedule decides those weights epoch by epoch:

    ramp ρ(e)      constant: 1;  linear: min(1, e / (until·E));  cosine: ½(1 − cos(π · min(1, e / (until·E))))
    weights        w(e) = 1 + ρ(e) · (w − 1)          uniform at ρ = 0, the full weights at ρ = 1
    DRW            ρ(e) = 0 before epoch ``drw_epoch`` (1-based), 1 from it on
    gradient scaling (adaptive)
                   w_c = min( (max_k G_k / G_c)^q , n_max / n_c ),   G_c = n_c · ḡ_c
                   ḡ_c = last epoch's mean feature-gradient norm of class c: every class's total
                   gradient is lifted towards the largest one, never beyond inverse frequency
"""

from __future__ import annotations

import math

import numpy as np

RAMPS = ("constant", "linear", "cosine")


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


class ClassWeights:
    """Fixed target weights ``w`` reached along a ramp; ``at(epoch)`` is ``None`` while uniform."""

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


class DeferredReweighting(ClassWeights):
    """DRW: uniform weights until epoch ``start`` (1-based), the full weights from it on."""

    name = "drw"

    def __init__(self, weights: np.ndarray, start: int):
        super().__init__(weights)
        self.start = start

    def progress(self, epoch: int) -> float:
        return 1.0 if epoch + 1 >= self.start else 0.0

    def __repr__(self) -> str:
        return f"DeferredReweighting(start={self.start})"


class GradientScaling(ClassWeights):
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
