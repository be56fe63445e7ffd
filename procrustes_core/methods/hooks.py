"""Major feature weakening in any PyTorch model: a forward hook at a chosen layer, using the core's
weakening object (``mfw.MajorFeatureWeakening``) and its mixing step (``mixers.blend``).

    weakening = weaken_features(model, "encoder.2", counts, strength=0.9)   # a layer's name, or the module
    for epoch in range(epochs):
        weakening.set_epoch(epoch, epochs)          # optional: follow a schedule (warm-up by default)
        for x, y in batches:
            with weakening.labels(y):               # this forward pass mixes that layer's output
                loss = F.cross_entropy(model(x), y)
            ...
    weakening.remove()

While the model is in training mode and labels are given, the layer's output ``h`` (one row per
sample) becomes ``λ_i h_i + (1 − λ_i) h_j`` with ``λ_i = 1 − s · w_{y_i} · u_i`` and a random partner
``j`` from the same batch; the label stays ``y_i``. In eval mode, or outside ``labels(...)``, the hook
changes nothing. The partner's features are not detached unless ``detach=True``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from ..errors import ProcrustesError
from ..names import MFW
from .mfw import MajorFeatureWeakening
from .mixers import blend


def _layer(model: nn.Module, layer: nn.Module | str) -> nn.Module:
    if isinstance(layer, nn.Module):
        if not any(m is layer for m in model.modules()):
            raise ProcrustesError("layer: that module is not part of the model")
        return layer
    named = dict(model.named_modules())
    if not isinstance(layer, str) or layer not in named or layer == "":
        choices = ", ".join(repr(n) for n in named if n) or "(the model has no sub-modules)"
        raise ProcrustesError(f"layer={layer!r}: expected the name of one of the model's layers: {choices}")
    return named[layer]


class FeatureWeakening:
    """MFW attached to one layer of a model by a forward hook (see the module's docstring)."""

    def __init__(self, model: nn.Module, layer: nn.Module | str, counts: Sequence[int], strength: float = MFW.strength,
                 gamma: float = MFW.gamma, schedule: str = MFW.schedule, until: float = MFW.until,
                 detach: bool = MFW.detach, seed: int = 0):
        if not 0 <= strength <= 1:
            raise ProcrustesError(f"strength={strength!r}: expected a number from 0 to 1")
        self.layer = _layer(model, layer)
        self.weakening = MajorFeatureWeakening(list(counts), strength=strength, schedule=schedule, until=until,
                                               gamma=gamma, detach=detach, seed=seed)
        self.strength = strength  # the strength of the coming forward passes (set_epoch moves it)
        self.detach = detach
        self.last: tuple[torch.Tensor, torch.Tensor] | None = None  # λ and partners of the last mixed batch
        self._labels: torch.Tensor | None = None
        self._handle = self.layer.register_forward_hook(self._hook)

    def _hook(self, module: nn.Module, inputs, output):
        if self._labels is None or not module.training or self.strength <= 0:
            return None
        if not isinstance(output, torch.Tensor):
            raise ProcrustesError(f"{type(module).__name__} returns {type(output).__name__}: hook a layer whose "
                                  "output is one tensor")
        if len(output) != len(self._labels):
            raise ProcrustesError(f"the layer's output has {len(output)} rows for {len(self._labels)} labels: "
                                  "give the labels of this batch")
        lam, partner = self.weakening.coefficients(self._labels, self.strength)
        lam, partner = lam.to(output.device, output.dtype), partner.to(output.device)
        self.last = (lam, partner)
        return blend(output, lam, partner, self.detach)

    @contextlib.contextmanager
    def labels(self, labels: torch.Tensor) -> Iterator[FeatureWeakening]:
        """Mix the hooked layer's output in the forward passes inside this block, for these labels."""
        self._labels = torch.as_tensor(labels).long()
        try:
            yield self
        finally:
            self._labels = None

    def set_epoch(self, epoch: int, epochs: int) -> float:
        """Set the strength of ``epoch`` (0-based) of ``epochs`` by the schedule; returns it."""
        self.weakening.epochs = epochs
        self.strength = self.weakening.strength_at(epoch)
        return self.strength

    def remove(self) -> None:
        """Detach the hook: the model is as it was."""
        self._handle.remove()

    def __repr__(self) -> str:
        return f"FeatureWeakening({type(self.layer).__name__}, strength={self.strength:g})"


def weaken_features(model: nn.Module, layer: nn.Module | str, counts: Sequence[int], strength: float = MFW.strength,
                    **options) -> FeatureWeakening:
    """Attach major feature weakening to ``layer`` of ``model`` (its name, as in ``model.named_modules()``,
    or the module itself); ``counts`` are the training samples per class. Options as ``FeatureWeakening``."""
    return FeatureWeakening(model, layer, counts, strength, **options)
