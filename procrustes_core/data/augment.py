"""Augmentation of whole training batches on the device: new views of each sample, labels unchanged.

    images   crop-flip          pad by 4 pixels (zeros), crop back at a random offset, flip left-right (p = ½)
             affine             rotate by U(−10°, 10°) and scale by U(0.9, 1.1) (``affine_grid`` + ``grid_sample``)
             crop-flip-affine   both, in that order
    signals  shift              circular shift by up to ±10 % of the length
             shift-pad          the same shift with zeros coming in at the edge
             amplitude          multiply by a ~ U(0.8, 1.2)
             time-warp          resample along a smooth random time axis: the speed at 4 knots ~ U(0.8, 1.2),
                                interpolated, integrated, and rescaled so that both ends stay in place
             signal             shift, amplitude, noise and time warp in turn
    any      noise              add σ · std(batch) · ε, σ = 0.05, ε ~ N(0, 1)

Which samples: a sample of class ``c`` is augmented with probability ``q · p_c``, ``q = augment_prob`` and
``p_c = 1`` (``all``), 1 for the classes of the tail group else 0 (``minor``), ``1 − n_c / n_max``
(``inverse``). Every draw comes from the augmentation's own generators, on the CPU, so that runs on any
device repeat one another and turning augmentation on never shifts the batch order; labels never change.
The work is done on a batch tensor where it lives (GPU or CPU) rather than per sample in a Python data
loader, so an epoch is bound by the model, not by the loader.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..errors import ProcrustesError
from .imbalance import head_and_tail

Op = Callable[[torch.Tensor], torch.Tensor]


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _uniform(n: int, lo: float, hi: float, rng: torch.Generator, device: torch.device) -> torch.Tensor:
    return (lo + (hi - lo) * torch.rand(n, generator=rng)).to(device)


class NoAugment:
    """Leaves batches as they are."""

    def __call__(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return x


# ------------------------------------------------------------------ images


class CropFlip:
    """Pad by ``padding`` pixels (zeros), crop back to the original size at a random offset, and
    flip left-right with probability 1/2 — independently for every image of the batch."""

    def __init__(self, padding: int = 4, seed: int = 0):
        self.padding = padding
        self.rng = _generator(seed)  # its own stream, on the CPU for every device

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


class Affine:
    """Rotate every image by ``U(−degrees, degrees)`` and scale it by ``U(lo, hi)`` about its centre,
    bilinear resampling, zeros (the normalised mean) where the image had nothing."""

    def __init__(self, degrees: float = 10.0, scale: tuple[float, float] = (0.9, 1.1), seed: int = 0):
        self.degrees, self.scale = degrees, scale
        self.rng = _generator(seed)

    def matrices(self, n: int, device: torch.device) -> torch.Tensor:
        """``n`` 2x3 matrices from output to input coordinates (what ``affine_grid`` takes)."""
        angle = _uniform(n, -self.degrees, self.degrees, self.rng, device) * (math.pi / 180)
        size = _uniform(n, *self.scale, self.rng, device)
        cos, sin = torch.cos(angle) / size, torch.sin(angle) / size
        zero = torch.zeros_like(cos)
        return torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        theta = self.matrices(len(x), x.device).to(x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


# ------------------------------------------------------------------ signals (n, channels, length)


class Shift:
    """Shift every signal by an integer ``s ~ U{−m, …, m}``, ``m = max(1, round(fraction · length))``:
    circularly (what leaves the end comes back at the start) or with zeros coming in."""

    def __init__(self, fraction: float = 0.1, circular: bool = True, seed: int = 0):
        self.fraction, self.circular = fraction, circular
        self.rng = _generator(seed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, channels, length = x.shape
        most = max(1, round(self.fraction * length))
        shift = torch.randint(-most, most + 1, (n,), generator=self.rng).to(x.device)
        source = torch.arange(length, device=x.device) - shift[:, None]  # output t reads input t − s
        inside = (source >= 0) & (source < length)
        source = source % length if self.circular else source.clamp(0, length - 1)
        out = x.gather(2, source[:, None, :].expand(n, channels, length))
        return out if self.circular else out * inside[:, None, :].to(x.dtype)


class Amplitude:
    """Multiply every signal by ``a ~ U(lo, hi)``."""

    def __init__(self, lo: float = 0.8, hi: float = 1.2, seed: int = 0):
        self.lo, self.hi = lo, hi
        self.rng = _generator(seed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        scale = _uniform(len(x), self.lo, self.hi, self.rng, x.device).to(x.dtype)
        return x * scale.reshape(-1, *([1] * (x.dim() - 1)))


class Noise:
    """Add Gaussian noise of ``sigma`` times the batch's standard deviation (any kind of data)."""

    def __init__(self, sigma: float = 0.05, seed: int = 0):
        self.sigma = sigma
        self.rng = _generator(seed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        spread = x.detach().float().std() if x.numel() > 1 else torch.ones((), device=x.device)
        noise = torch.randn(x.shape, generator=self.rng).to(x.device, x.dtype)
        return x + self.sigma * spread.to(x.dtype) * noise


class TimeWarp:
    """Resample every signal along a smooth, monotone random time axis: the speed at ``knots`` evenly
    spaced points is ``U(1 − strength, 1 + strength)``, linearly interpolated over the length and
    integrated, then rescaled so that the first and last samples stay where they are; values between
    two samples are interpolated linearly."""

    def __init__(self, knots: int = 4, strength: float = 0.2, seed: int = 0):
        self.knots, self.strength = knots, strength
        self.rng = _generator(seed)

    def positions(self, n: int, length: int, device: torch.device) -> torch.Tensor:
        """Where each output sample reads the input, ``n × length``, from 0 to ``length − 1``, increasing."""
        speed = 1 + self.strength * (2 * torch.rand(n, self.knots, generator=self.rng) - 1)
        speed = F.interpolate(speed[:, None, :], size=length, mode="linear", align_corners=True)[:, 0]
        position = torch.cumsum(speed, 1)
        position = position - position[:, :1]
        return (position / position[:, -1:] * (length - 1)).to(device)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, channels, length = x.shape
        if length < 2:
            return x
        position = self.positions(n, length, x.device)
        left = position.floor().long().clamp(0, length - 2)
        frac = (position - left).to(x.dtype)[:, None, :]
        at = left[:, None, :].expand(n, channels, length)
        before, after = x.gather(2, at), x.gather(2, at + 1)
        return before + frac * (after - before)


class Compose:
    """Apply ``ops`` in turn."""

    def __init__(self, ops: Sequence[Op]):
        self.ops = list(ops)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for op in self.ops:
            x = op(x)
        return x


# ------------------------------------------------------------------ by name

# name → (kinds of data it applies to, its operations for a seed); the config's choices (methods/catalogue.py)
OPS: dict[str, tuple[tuple[str, ...], Callable[[int], list[Op]]]] = {
    "none": (("signal", "image", "vector"), lambda seed: []),
    "crop-flip": (("image",), lambda seed: [CropFlip(4, seed=seed)]),
    "affine": (("image",), lambda seed: [Affine(seed=seed + 1)]),
    "crop-flip-affine": (("image",), lambda seed: [CropFlip(4, seed=seed), Affine(seed=seed + 1)]),
    "shift": (("signal",), lambda seed: [Shift(seed=seed + 2)]),
    "shift-pad": (("signal",), lambda seed: [Shift(circular=False, seed=seed + 2)]),
    "amplitude": (("signal",), lambda seed: [Amplitude(seed=seed + 3)]),
    "time-warp": (("signal",), lambda seed: [TimeWarp(seed=seed + 5)]),
    "signal": (("signal",), lambda seed: [Shift(seed=seed + 2), Amplitude(seed=seed + 3), Noise(seed=seed + 4),
                                          TimeWarp(seed=seed + 5)]),
    "noise": (("signal", "image", "vector"), lambda seed: [Noise(seed=seed + 4)]),
}


def class_probabilities(classes: str, counts: Sequence[int], groups: dict[str, list[int]]) -> list[float]:
    """``p_c`` per class: 1 (``all``), 1 for the tail group's classes else 0 (``minor``; with one group,
    every class), or ``1 − n_c / n_max`` (``inverse``: 0 for the largest class)."""
    if classes == "all":
        return [1.0] * len(counts)
    if classes == "minor":
        _, tail = head_and_tail(groups)
        return [1.0 if c in tail else 0.0 for c in range(len(counts))]
    if classes == "inverse":
        largest = max(counts)
        return [1.0 - n / largest for n in counts]
    raise ProcrustesError(f"augment_classes={classes!r}: expected one of all, minor, inverse")


class Augment:
    """The run's augmentation: operations, applied to each sample of a batch with its class's probability."""

    def __init__(self, name: str, ops: Sequence[Op], probabilities: Sequence[float], seed: int = 0):
        self.name = name
        self.transform = Compose(ops)
        self.probabilities = torch.tensor(list(probabilities), dtype=torch.float64)
        self.rng = _generator(seed)  # which samples: a stream of its own

    @property
    def active(self) -> bool:
        return bool(self.transform.ops) and bool((self.probabilities > 0).any())

    def choose(self, y: torch.Tensor) -> torch.Tensor | None:
        """Indices (on the CPU) of the samples to augment; ``None`` when every sample is."""
        if bool((self.probabilities >= 1).all()):
            return None
        chosen = torch.rand(len(y), generator=self.rng, dtype=torch.float64) < self.probabilities[y.cpu()]
        return torch.nonzero(chosen).squeeze(1)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The batch ``x`` with the chosen samples augmented (``y`` only decides which; it never changes)."""
        if not self.active:
            return x
        chosen = self.choose(y)
        if chosen is None:
            return self.transform(x)
        if len(chosen) == 0:
            return x
        chosen = chosen.to(x.device)
        out = x.clone()
        out[chosen] = self.transform(x[chosen])
        return out

    def __repr__(self) -> str:
        return f"Augment({self.name!r}, p={[round(float(p), 3) for p in self.probabilities]})"


def build_augment(name: str, data, seed: int = 0, classes: str = "all", prob: float = 1.0) -> Augment | NoAugment:
    """The augmentation a config names, for ``data`` (its kind, counts and groups); ``seed`` is the run's."""
    if name not in OPS:
        raise ProcrustesError(f"augment={name!r}: expected one of {', '.join(OPS)}")
    kinds, make = OPS[name]
    if data.kind not in kinds:
        needs = " or ".join(k + "s" for k in kinds)
        raise ProcrustesError(f"augment={name!r}: needs {needs}, dataset {data.name!r} holds {data.kind}s")
    if name == "none":
        return NoAugment()
    probabilities = [prob * p for p in class_probabilities(classes, data.counts, data.groups)]
    return Augment(name, make(seed + 17), probabilities, seed=seed + 31)


def augmentation_examples(data, name: str, count: int = 4, classes: str = "minor",
                          seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``count`` training samples of the tail group's classes (``classes="minor"``) or of any class
    (``"all"``), and the same samples augmented by ``name`` (always, whatever the run's probability):
    ``(originals, augmented, labels)``, for a page or a lesson to show side by side."""
    augment = build_augment(name, data, seed)
    if classes not in ("minor", "all"):
        raise ProcrustesError(f"classes={classes!r}: expected minor or all")
    wanted = head_and_tail(data.groups)[1] if classes == "minor" else list(range(data.num_classes))
    members = torch.nonzero(torch.isin(data.y_train, torch.tensor(wanted))).squeeze(1)
    picked = members[torch.randperm(len(members), generator=_generator(seed))[:count]].sort().values
    originals, labels = data.x_train[picked], data.y_train[picked]
    if isinstance(augment, NoAugment):
        return originals, originals.clone(), labels
    return originals, augment.transform(originals), labels
