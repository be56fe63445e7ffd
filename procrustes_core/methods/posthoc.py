"""Post-hoc steps on a trained classifier: the τ-normalised classifier and logit adjustment.

    τ-normalised weights  z_c ← W_c · h / ‖W_c‖^τ + b_c  =  (z_c − b_c) / ‖W_c‖^τ + b_c   (the head does it)
    logit adjustment      z_c ← z_c − τ · log π_c                    (π_c = n_c / Σ n, the training prior)

Both act at evaluation only; training is unchanged. A ``PostHoc`` names one setting of both, so a
trained model can be scored under several of them without training again (``Trainer.score``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class PostHoc:
    """One post-hoc setting: ``la_tau`` (logit adjustment, 0: off), ``tau_norm`` (0: off)."""

    la_tau: float = 0.0
    tau_norm: float = 0.0

    def apply(self, logits: torch.Tensor, head: nn.Module, prior_log: torch.Tensor) -> torch.Tensor:
        """The τ-normalised classifier first, then logit adjustment."""
        return adjust_logits(tau_normalise(logits, head, self.tau_norm), prior_log, self.la_tau)

    @property
    def label(self) -> str:
        parts = ([f"LA τ={self.la_tau:g}"] if self.la_tau else []) + (
            [f"τ-norm {self.tau_norm:g}"] if self.tau_norm else [])
        return " + ".join(parts) or "no post-hoc step"


def log_prior(counts: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """``log(n_c / sum n)`` for every class."""
    n = torch.tensor(counts, dtype=torch.float32, device=device)
    return torch.log(n / n.sum())


def adjust_logits(logits: torch.Tensor, prior_log: torch.Tensor, tau: float) -> torch.Tensor:
    """Logits with the training prior divided out; ``tau = 0`` leaves them unchanged."""
    return logits - tau * prior_log if tau else logits


def tau_normalise(logits: torch.Tensor, head: nn.Module, tau: float) -> torch.Tensor:
    """The logits of ``head`` (a ``models.heads`` classifier) τ-normalised; ``tau = 0`` changes nothing."""
    return head.tau_normalised(logits, tau) if tau else logits
