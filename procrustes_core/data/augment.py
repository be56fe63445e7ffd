"""Augmentation of whole image batches on the device: random crop with padding, horizontal flip.

The standard CIFAR augmentation, done on a batch tensor where it lives (GPU or CPU) rather than
per sample in a Python data loader, so an epoch is bound by the model, not by the loader.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import ProcrustesError


class NoAugment:
    """Leaves batches as they are."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x


class CropFlip:
    """Pad by ``padding`` pixels (zeros), crop back to the original size at a random offset, and
    flip left-right with probability 1/2 — independently for every image of the batch."""

    def __init__(self, padding: int = 4, seed: int = 0):
        self.padding = padding
        self.rng = torch.Generator().manual_seed(seed)  # its own stream, on the CPU for every device

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, _, height, width = x.shape
        p = self.padding
        padded = F.pad(x, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (n,), generator=self.rng).to(x.device)
        dx = torch.randint(0, 2 * p + 1, (n,), generator=self.rng).to(x.device)
        flip = (torch.rand(n, generator=self.rng) < 0.5).to(x.device)
        rows = (dy[:, None] + torch.arange(height, device=x.device))[:, :, None]  # n, H, 1
        cols = torch.arange(width, device=x.device).expand(n, width)
        cols = torch.where(flip[:, None], cols.flip(1), cols) + dx[:, None]  # n, W
        batch = torch.arange(n, device=x.device)[:, None, None]
        return padded.permute(0, 2, 3, 1)[batch, rows, cols[:, None, :]].permute(0, 3, 1, 2).contiguous()


def build_augment(name: str, data, seed: int = 0):
    """The augmentation a config names; crop-flip only makes sense for images."""
    if name == "none":
        return NoAugment()
    if data.kind != "image":
        raise ProcrustesError(f"augment={name!r}: needs images, dataset {data.name!r} holds {data.kind}s")
    return CropFlip(padding=4, seed=seed + 17)
