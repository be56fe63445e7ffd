"""Which configs train stacked (``stackable``) and which of them can share one stack (``stack_key``).

A request's seeds of one config stack when ``stackable`` says so. Two configs stack together when they
have the same ``stack_key``: everything that shapes the network and the loop is the same (dataset and its
data settings, model, width, norm, batch size, epochs, optimiser, learning rate and schedule, evaluation,
augmentation, device, threads) and their samplers give epochs of the same length from the training set
itself; they may differ in the method (mixer and its knobs, loss and its knobs, loss weights, post-hoc).
"""

from __future__ import annotations

import os

from ..config import TrainConfig
from ..data.registry import DATASETS
from ..errors import ProcrustesError
from ..models.nets import model_name

STACKED_MODELS = ("mlp", "cnn1d", "cnn1d-s1")  # networks of Conv1d, BatchNorm1d, ReLU, Flatten, Linear
NOT_STACKABLE = "not stackable"  # how every refusal to stack begins (the engine then trains seed after seed)


def stackable(config: TrainConfig) -> tuple[bool, str]:
    """Whether ``config``'s seeds can train stacked in one network, and if not, why (one line). A server
    (or a benchmark measuring the difference) turns stacking off with ``PROCRUSTES_STACKED_SEEDS=0``, or
    keeps each config in a stack of its own with ``PROCRUSTES_STACKED_SEEDS=config``."""
    model = model_name(config.model, _input_kind(config), config.dataset)
    reasons = [
        (os.environ.get("PROCRUSTES_STACKED_SEEDS", "1").strip() == "0",
         "PROCRUSTES_STACKED_SEEDS=0 (each seed trains in a process of its own)"),
        (config.bbn, "BBN trains two branches on two samplers"),
        (config.classifier_retrain_epochs > 0, "classifier re-training freezes the features for a second stage"),
        (config.init_checkpoint is not None, "a run from a checkpoint starts from that checkpoint's network"),
        (model not in STACKED_MODELS, f"model {model!r} has layers without a stacked form "
                                      f"(stacked: {', '.join(STACKED_MODELS)})"),
        (config.attention != "none", "squeeze-and-excitation has no stacked form"),
        (config.loss == "ldam" and config.ldam_cosine, "LDAM's cosine classifier has no stacked form"),
        (config.amp, "mixed precision is not stacked"),
        (config.sampler == "borderline-smote", "Borderline-SMOTE's synthetic pool differs in size from seed to seed"),
    ]
    for refused, reason in reasons:
        if refused:
            return False, f"not stackable: {reason}"
    return True, ""


def _input_kind(config: TrainConfig) -> str:
    """The kind of input the config's data are (the registry's word; a learner's own data: from its outline)."""
    entry = DATASETS.get(config.dataset)
    if entry is not None and entry.kind:
        return entry.kind
    if entry is None:
        return "vector"
    from ..data.datasets import outline

    return {1: "vector", 2: "signal"}.get(len(outline(config).input_shape), "image")


def stacking_text() -> str:
    """Which methods, networks and datasets train a request's seeds stacked and which fall back to one
    process per seed, and why (``procrustes methods``), from ``stackable`` itself."""
    from ..methods.catalogue import METHODS
    from ..names import MODELS

    base = TrainConfig()
    methods = []
    for name in METHODS:
        ok, why = stackable(base.with_methods(name))
        if not ok:
            methods.append(f"  {name:<18} {why.removeprefix(NOT_STACKABLE + ': ')}")
    models = [m for m in MODELS if m != "auto" and m not in STACKED_MODELS]
    unstacked = sorted(n for n, entry in DATASETS.items()
                       if entry.kind and model_name("auto", entry.kind, n) not in STACKED_MODELS)
    lines = ["SEVERAL SEEDS AT ONCE",
             "  A run's seeds train together in one process as one stacked network (each seed its own data order,",
             "  weights, optimiser and BatchNorm statistics), except with these, where each seed trains in a",
             "  process of its own:", *methods,
             f"  networks {', '.join(models)}: layers without a stacked form (stacked: {', '.join(STACKED_MODELS)});",
             f"  so {', '.join(unstacked)} and folders of images train seed by seed with their usual network"]
    return "\n".join(lines) + "\n"


METHOD_FIELDS = frozenset({
    "mixer", "mfw_strength", "mfw_layer", "mfw_gamma", "mfw_schedule", "mfw_until", "mfw_coef", "mfw_alpha",
    "mfw_prob", "mfw_weights", "mfw_detach", "mfw_after_norm", "loss", "focal_gamma", "cb_beta",
    "ldam_max_margin", "ldam_scale", "la_loss_tau", "cdt_gamma", "mixup_alpha", "remix_kappa", "remix_tau",
    "drw_epoch", "weight_schedule", "weight_until", "grad_scale", "grad_scale_power", "la_tau", "tau_norm",
    "sampler", "seed"})  # what members of one stack may differ in (the sampler: see ``_epoch_kind``)
SAME_POOL_SAMPLERS = ("instance", "class-balanced", "square-root")  # epoch: the training set once


def _epoch_kind(sampler: str) -> str:
    """Samplers whose epochs have the same length and pool (the training set, in some order) share a word."""
    return "training set" if sampler in SAME_POOL_SAMPLERS else sampler


def stack_key(config: TrainConfig) -> str | None:
    """A key that two configs share exactly when their members can train in one stack (None: it does not
    stack at all, ``stackable``)."""
    if not stackable(config)[0]:
        return None
    # PROCRUSTES_STACKED_SEEDS=config: a stack holds one config's seeds only (a benchmark's comparison)
    per_config = os.environ.get("PROCRUSTES_STACKED_SEEDS", "1").strip() == "config"
    shared = {k: v for k, v in config.to_dict().items() if k not in METHOD_FIELDS or (per_config and k != "seed")}
    return f"{_epoch_kind(config.sampler)}|{sorted(shared.items())!r}"


def joint_pays(config: TrainConfig) -> bool:
    """Whether configs of one ``stack_key`` on one slot train as one joint stack rather than one stack each.
    On a CPU one stack of 2S members costs more than two of S (benchmarks/stacked_fronts.py: the larger
    operands spill the cache), so only CUDA joins them (where a larger operation costs little more; not yet
    measured there); ``PROCRUSTES_STACKED_SEEDS=joint`` always does, ``=config`` never."""
    from .trainer import resolve_device

    setting = os.environ.get("PROCRUSTES_STACKED_SEEDS", "1").strip()
    if setting in ("joint", "config", "0"):
        return setting == "joint"
    try:
        return resolve_device(config.device).type == "cuda"
    except ProcrustesError:  # CUDA asked for and absent: the training itself says so
        return False

