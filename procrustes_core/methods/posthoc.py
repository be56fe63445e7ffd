"""Post-hoc logit adjustment: subtract ``tau * log prior_c`` from the logits at evaluation."""

from __future__ import annotations

import torch


def log_prior(counts: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """``log(n_c / sum n)`` for every class."""
    n = torch.tensor(counts, dtype=torch.float32, device=device)
    return torch.log(n / n.sum())


def adjust_logits(logits: torch.Tensor, prior_log: torch.Tensor, tau: float) -> torch.Tensor:
    """Logits with the training prior divided out; ``tau = 0`` leaves them unchanged."""
    return logits - tau * prior_log if tau else logits
