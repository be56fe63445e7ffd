"""Initial weights drawn from a run's own random generator, never from torch's global one.

``initialise(model, generator)`` gives every layer PyTorch's default initialisation (the same
distributions as ``reset_parameters``), but draws from ``generator``, so two runs built at the same
time in one process (two learners on one server) cannot change each other's initial weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .heads import CosineClassifier
from .pretrained import load_pretrained


def _uniform(tensor: torch.Tensor, bound: float, generator: torch.Generator) -> None:
    with torch.no_grad():
        values = torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype) * (2 * bound) - bound
        tensor.copy_(values)


def _fan_in(weight: torch.Tensor) -> int:
    return weight.shape[1] * math.prod(weight.shape[2:])


def initialise(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Re-draw every parameter of ``model`` (on the CPU) from ``generator``; a pretrained network then
    gets its pretrained weights (all but the new head: ``pretrained.py``). Returns the model."""
    for module in model.modules():
        if isinstance(module, CosineClassifier):
            _uniform(module.weight, 1.0, generator)
            with torch.no_grad():
                module.weight /= module.weight.norm(dim=1, keepdim=True)
        elif isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            fan_in = _fan_in(module.weight)
            # kaiming_uniform_(a=√5) as in reset_parameters: bound = √(6 / ((1 + a²) fan_in)) = 1/√fan_in
            _uniform(module.weight, 1 / math.sqrt(fan_in), generator)
            if module.bias is not None:
                _uniform(module.bias, 1 / math.sqrt(fan_in) if fan_in else 0.0, generator)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_parameters()  # ones and zeros, no randomness
        elif any(True for _ in module.parameters(recurse=False)):
            raise TypeError(f"initialise: no rule for {type(module).__name__}")
    return load_pretrained(model)
