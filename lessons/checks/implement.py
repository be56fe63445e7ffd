"""Checks of code a learner writes (lesson 13): a function compared with the core's on several random
inputs, and a finite-difference gradient compared with autograd's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .recipe import MISSING, RIGHT, WRONG

__all__ = ["check_same_as_core", "check_numerical_gradient", "numerical_gradient_error", "mfw_reference",
           "ldam_reference", "reference_numerical_gradient"]


def mfw_reference(h: torch.Tensor, labels: torch.Tensor, counts: Sequence[int], strength: float, u: torch.Tensor,
                  partner: torch.Tensor) -> torch.Tensor:
    """The core's MFW on a batch, given the draws: its class weights (``count_weights``) and its mix (``blend``)."""
    from procrustes_core.methods.mfw import count_weights
    from procrustes_core.methods.mixers import blend

    weights = torch.as_tensor(count_weights(list(counts)), dtype=h.dtype)
    return blend(h, 1.0 - strength * weights[labels] * u.to(h.dtype), partner)


def ldam_reference(logits: torch.Tensor, labels: torch.Tensor, counts: Sequence[int], max_margin: float = 0.5,
                   scale: float = 30.0) -> torch.Tensor:
    """The core's LDAM loss (``methods.losses.LDAMLoss``), averaged over the batch."""
    from procrustes_core.methods.losses import LDAMLoss

    return LDAMLoss(list(counts), max_margin, scale).per_sample(logits, labels).mean()


def reference_numerical_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                                 eps: float = 1e-5) -> torch.Tensor:
    """Central differences, one coordinate at a time, in ``x``'s own precision."""
    grad = torch.zeros_like(x)
    flat, out = x.detach().reshape(-1), grad.reshape(-1)
    for i in range(flat.numel()):
        step = torch.zeros_like(flat)
        step[i] = eps
        out[i] = (f((flat + step).reshape(x.shape)) - f((flat - step).reshape(x.shape))) / (2 * eps)
    return grad


def _tensor(value: Any) -> torch.Tensor | None:
    try:
        return torch.as_tensor(value, dtype=torch.float64) if value is not None else None
    except (TypeError, ValueError, RuntimeError):
        return None


def check_same_as_core(mine: Callable[..., Any], core: Callable[..., Any], inputs: Sequence[tuple],
                       what: str = "your function", tol: float = 1e-5) -> bool:
    """Your function against the core's on every input tuple: right when all outputs agree to ``tol``
    (relative to their size). Says on which input they first differ, and how, without the core's value."""
    for k, args in enumerate(inputs):
        try:
            got = mine(*args)
        except Exception as err:  # a learner's code: any error is feedback, never a stopped lesson
            print(f"{WRONG}: {what} raised {type(err).__name__}: {err} (input {k + 1} of {len(inputs)}).")
            return False
        if got is None:
            print(f"{MISSING}: {what} returns None; write its body.")
            return False
        want = torch.as_tensor(core(*args)).detach().to(torch.float64)
        have = _tensor(got.detach() if hasattr(got, "detach") else got)
        if have is None or have.shape != want.shape:
            shape = "no numbers" if have is None else f"shape {tuple(have.shape)}"
            print(f"{WRONG}: {what} gave {shape}; expected shape {tuple(want.shape)} (input {k + 1}).")
            return False
        scale = max(1.0, float(want.abs().max()))
        gap = float((have - want).abs().max())
        if gap > tol * scale:
            print(f"{WRONG}: {what} differs from the core's by up to {gap:.3g} on input {k + 1} of {len(inputs)}; "
                  "check each step of the formula against the text.")
            return False
    print(f"{RIGHT}: {what} agrees with the core's on all {len(inputs)} inputs (to {tol:g}).")
    return True


def numerical_gradient_error(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                             numerical: Any) -> float | None:
    """The largest absolute difference between a numerical gradient of ``f`` at ``x`` and autograd's, or
    None when ``numerical`` is not an array of ``x``'s shape."""
    given = _tensor(numerical.detach() if hasattr(numerical, "detach") else numerical)
    if given is None or given.shape != x.shape:
        return None
    point = x.detach().clone().to(torch.float64).requires_grad_(True)
    (exact,) = torch.autograd.grad(f(point), point)
    return float((given - exact).abs().max())


def check_numerical_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, numerical: Any,
                             tol: float = 1e-5) -> bool:
    """A finite-difference gradient of the scalar ``f`` at ``x`` against autograd's (in float64)."""
    if numerical is None:
        print(f"{MISSING}: your finite-difference gradient returns None; write its body.")
        return False
    error = numerical_gradient_error(f, x, numerical)
    if error is None:
        print(f"{WRONG}: the gradient must have the shape of x, {tuple(x.shape)}.")
        return False
    if not np.isfinite(error) or error > tol:
        print(f"{WRONG}: it differs from autograd's by up to {error:.3g}: central differences "
              "(f(x + ε e_i) − f(x − ε e_i)) / 2ε, one coordinate at a time?")
        return False
    print(f"{RIGHT}: it agrees with autograd's to {error:.1e} — your gradient and the chain rule say the same.")
    return True
