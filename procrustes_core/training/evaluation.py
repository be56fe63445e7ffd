"""Evaluation passes: logits, per-sample loss and per-sample feature gradients of a model.

The feature gradient is ``‖∂ℓ_i/∂h_i‖``, ``h`` the penultimate features and ``ℓ`` **plain
cross-entropy in eval mode** — whatever loss the run trains with — so that runs of different
methods are measured on one scale. Because ``ℓ_i`` depends on ``h_i`` alone, the gradient of the
summed loss with respect to the batch of features holds each sample's own gradient in its row.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..models.nets import BlockNet, TwoBranchNet

EVAL_BATCH = 2048


@dataclass
class Evaluation:
    """Per-sample results of one evaluation pass."""

    logits: torch.Tensor
    loss: torch.Tensor  # per-sample cross-entropy
    grad_norm: torch.Tensor | None  # per-sample ‖∂ℓ_i/∂h_i‖


def evaluate(model: BlockNet, x: torch.Tensor, y: torch.Tensor, with_grad: bool = False,
             batch_size: int = EVAL_BATCH) -> Evaluation:
    """Forward ``x`` in eval mode; optionally the per-sample gradient of the loss w.r.t. ``h``."""
    was_training = model.training
    model.eval()
    logits, losses, norms = [], [], []
    for start in range(0, len(y), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        with torch.no_grad():
            h = model.features(xb)
        if with_grad:
            h.requires_grad_(True)
            with torch.enable_grad():
                out = model.head(h)
                loss = F.cross_entropy(out, yb, reduction="none")
                (grad,) = torch.autograd.grad(loss.sum(), h)
            norms.append(grad.flatten(1).norm(dim=1))
            out, loss = out.detach(), loss.detach()
        else:
            with torch.no_grad():
                out = model.head(h)
                loss = F.cross_entropy(out, yb, reduction="none")
        logits.append(out)
        losses.append(loss)
    model.train(was_training)
    return Evaluation(torch.cat(logits), torch.cat(losses), torch.cat(norms) if with_grad else None)


def evaluate_branches(model: TwoBranchNet, x: torch.Tensor, batch_size: int = EVAL_BATCH) -> dict[str, torch.Tensor]:
    """Each branch of a BBN network alone, in eval mode: ``{"conventional": logits, "re-balancing": logits}``,
    the classifier seeing one branch's features (α = 1, or α = 0) and zeros for the other's."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = {name: torch.cat([model.branch_logits(x[i:i + batch_size], b) for i in range(0, len(x), batch_size)])
               for b, name in enumerate(model.BRANCHES)}
    model.train(was_training)
    return out
