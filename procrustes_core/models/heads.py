"""Classifier heads: the last layer, from penultimate features ``h`` to class logits ``z``.

    linear   z_c = W_c · h + b_c
    cosine   z_c = s · cos(h, W_c) = s · (h / ‖h‖) · (W_c / ‖W_c‖)     (LDAM's normed classifier)

Each head also knows its τ-normalised logits (the post-hoc classifier of "Decoupling
Representation and Classifier for Long-Tailed Recognition", ICLR 2020):
``z_c ← W_c · h / ‖W_c‖^τ + b_c``; the cosine head's class vectors are normalised already.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LinearClassifier(nn.Linear):
    """``z = W h + b``."""

    def tau_normalised(self, logits: torch.Tensor, tau: float) -> torch.Tensor:
        """``logits`` with each class's weight vector divided by ``‖W_c‖^τ`` (large classes grow large
        weight norms; dividing them out evens the classifier). ``tau = 0`` changes nothing."""
        if not tau:
            return logits
        with torch.no_grad():
            norm = self.weight.norm(dim=1) ** tau
            bias = self.bias if self.bias is not None else torch.zeros_like(norm)
            return (logits - bias) / norm + bias


class CosineClassifier(nn.Module):
    """``z_c = s · cos(h, W_c)``; the class vectors start at unit norm, as in the LDAM-DRW reference
    (``NormedLinear``: uniform in [−1, 1], then each class vector rescaled to norm 1)."""

    def __init__(self, in_features: int, out_features: int, scale: float = 30.0):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        weight = torch.empty(out_features, in_features).uniform_(-1, 1)
        self.weight = nn.Parameter(weight / weight.norm(dim=1, keepdim=True))
        self.scale = scale

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.scale * F.normalize(h, dim=1) @ F.normalize(self.weight, dim=1).T

    def tau_normalised(self, logits: torch.Tensor, tau: float) -> torch.Tensor:
        return logits  # cos(h, W_c) has every class vector at norm 1 already

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}, scale={self.scale:g}"


def build_head(kind: str, in_features: int, num_classes: int, scale: float = 30.0) -> nn.Module:
    """``linear`` or ``cosine`` (with logit scale ``scale``)."""
    if kind == "cosine":
        return CosineClassifier(in_features, num_classes, scale)
    return LinearClassifier(in_features, num_classes)
