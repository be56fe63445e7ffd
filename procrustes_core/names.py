"""The names a run's settings choose from, MFW's defaults and the seed range — plain data, no torch.

The first stage of the core: ``config.py`` validates against these names, the method catalogue
(``methods/catalogue.py``) describes the methods they select, and the builders construct them, so
no stage imports a later one to learn what may be chosen. A method's description lives in the
catalogue; a test checks that every name here has one there and the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ProcrustesError

# ------------------------------------------------------------------ methods by kind (see the catalogue)

LOSSES = ("ce", "weighted-ce", "cb-ce", "focal", "ldam", "balanced-softmax", "la-loss", "cdt")
SAMPLERS = ("instance", "class-balanced", "square-root", "oversample", "undersample", "smote", "borderline-smote")
MIXERS = ("none", "mfw", "mixup", "remix")
SYNTHETIC = ("smote", "borderline-smote")  # samplers that synthesise feature vectors

MODELS = ("auto", "mlp", "cnn1d", "cnn1d-s1", "cnn2d", "resnet32", "resnet18-pretrained")
MFW_LAYERS = ("input", "block1", "block2", "block3", "block4", "block5", "penultimate", "random")
MFW_SCHEDULES = ("constant", "warmup", "linear", "cosine", "until-equal")
RAMPS = ("constant", "linear", "cosine")  # how a loss-weight curriculum moves from uniform to full
# Augmentations by name, with the kinds of data each applies to (data/augment.py builds them).
AUGMENTS: dict[str, tuple[str, ...]] = {
    "none": ("signal", "image", "vector"),
    "crop-flip": ("image",), "affine": ("image",), "crop-flip-affine": ("image",),
    "shift": ("signal",), "shift-pad": ("signal",), "amplitude": ("signal",), "time-warp": ("signal",),
    "signal": ("signal",), "noise": ("signal", "image", "vector"),
}
AUGMENT_CLASSES = ("all", "minor", "inverse")
ATTENTIONS = ("none", "se")
FINETUNES = ("full", "linear-probe")


# ------------------------------------------------------------------ MFW's defaults


@dataclass(frozen=True)
class MFWDefaults:
    """Major feature weakening's defaults, one place for the config, ``MajorFeatureWeakening`` and the hook.

    With the config's other defaults, strength 0.5 at the penultimate features for the first half of
    the epochs did best on a validation split of MNIST-1D step-100 among the variants in
    benchmarks/results/reproduce_study*.md and benchmarks/results/fidelity.md."""

    strength: float = 0.5
    layer: str = "penultimate"
    gamma: float = 1.0
    schedule: str = "warmup"
    until: float = 0.5
    coef: str = "uniform"
    alpha: float = 1.0
    prob: float = 1.0
    weights: str = "count"
    detach: bool = False
    after_norm: bool = False


MFW = MFWDefaults()
RECOMMENDED_STRENGTH = MFW.strength  # the strength to start from when weakening is turned on


# ------------------------------------------------------------------ seeds

SEED_MAX = 2**31 - 1  # the largest seed (NumPy and torch both take it)
MAX_SEEDS = 64  # seeds of one request through the API (the app's cap is PROCRUSTES_MAX_SEEDS)


def seed_count(value: Any, limit: int | None = MAX_SEEDS) -> int:
    """A number of seeds (an int, or its digits as text, as a link or the command line gives it) from 1
    to ``limit`` (``None``: a budget caps it elsewhere), or one line saying what is wrong."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    most = SEED_MAX if limit is None else limit
    if not (text.isdigit() and len(text) <= 10 and 1 <= int(text) <= most):
        raise ProcrustesError(f"seeds={value!r}: expected a count from 1 to {most}")
    return int(text)


def seed_range(first: int, count: int, limit: int | None = MAX_SEEDS) -> list[int]:
    """``count`` consecutive seeds from ``first``: the seeds a page, a lesson or the CLI trains."""
    return check_seeds(range(first, first + seed_count(count, limit)), limit)


def check_seeds(seeds: Any, limit: int | None = MAX_SEEDS) -> list[int]:
    """A list of distinct seeds from 0 to ``SEED_MAX``, at most ``limit`` of them (``None``: a budget caps
    how many elsewhere), or one line saying what is wrong."""
    try:
        found = [int(s) for s in seeds]
    except (TypeError, ValueError):
        raise ProcrustesError(f"seeds={seeds!r}: expected whole numbers") from None
    if not found:
        raise ProcrustesError("seeds=[]: give at least one seed")
    if len(set(found)) != len(found):
        raise ProcrustesError(f"seeds={found}: each seed once (a repeated seed repeats the same run)")
    if any(s < 0 or s > SEED_MAX for s in found):
        raise ProcrustesError(f"seeds={found}: expected seeds from 0 to {SEED_MAX}")
    if limit is not None and len(found) > limit:
        raise ProcrustesError(f"seeds: {len(found)} given, at most {limit}")
    return found
