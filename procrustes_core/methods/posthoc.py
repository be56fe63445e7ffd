"""Post-hoc steps on a trained classifier: logit adjustment and the τ-normalised classifier.

    logit adjustment      z_c ← z_c − τ · log π_c                    (π_c = n_c / Σ n, the training prior)
    τ-normalised weights  z_c ← W_c · h / ‖W_c‖^τ + b_c  =  (z_c − b_c) / ‖W_c‖^τ + b_c

Both act at evaluation only; training is unchanged.
"""

from __future__ import annotations

import torch
from torch import nn


def log_prior(counts: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """``log(n_c / sum n)`` for every class."""
    n = torch.tensor(counts, dtype=torch.float32, device=device)
    return torch.log(n / n.sum())


def adjust_logits(logits: torch.Tensor, prior_log: torch.Tensor, tau: float) -> torch.Tensor:
    """Logits with the training prior divided out; ``tau = 0`` leaves them unchanged."""
    return logits - tau * prior_log if tau else logits


def tau_normalise(logits: torch.Tensor, head: nn.Module, tau: float) -> torch.Tensor:
    """Logits of the linear ``head`` with each class's weight vector divided by ``‖W_c‖^τ``.

    Large classes grow large weight norms; dividing them out evens the classifier. ``tau = 0``
    (or a head without plain weights, such as a cosine classifier) leaves the logits unchanged.
    """
    if not tau or not isinstance(head, nn.Linear):
        return logits
    with torch.no_grad():
        norm = head.weight.norm(dim=1) ** tau
        bias = head.bias if head.bias is not None else torch.zeros_like(norm)
        return (logits - bias) / norm + bias
