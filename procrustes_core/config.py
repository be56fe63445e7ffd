"""TrainConfig: every setting a run depends on, validated, and round-tripped to dict / JSON / URL."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .data.registry import dataset_names
from .errors import ProcrustesError, shown
from .jsontext import MAX_JSON_DEPTH, nesting_depth, parse_json  # noqa: F401  (re-exported: they lived here)
from .names import (  # noqa: F401  (MAX_SEEDS and check_seeds: re-exported, seeds were validated here before)
    ATTENTIONS,
    AUGMENT_CLASSES,
    AUGMENTS,
    FINETUNES,
    LOSSES,
    MAX_SEEDS,
    MFW,
    MFW_LAYERS,
    MFW_SCHEDULES,
    MIXERS,
    MODELS,
    RAMPS,
    SAMPLERS,
    SEED_MAX,
    check_seeds,
)

# ---------------------------------------------------------------- declared constraints

MAX_CLASSES = 1_000  # per-class lists (counts, run files) are at most this long
MAX_COUNT = 10**9  # training samples of one class
MAX_TEXT = 4_096  # characters of a free text setting (a folder path)
MAX_NUMBER_TEXT = 100  # characters of a number as text: longer is no setting's value


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of names."""

    options: tuple[str, ...]

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in self.options:
            raise ProcrustesError(f"{name}={shown(value)}: expected one of {', '.join(self.options)}")
        return value

    def parse(self, text: str) -> str:
        return text

    def format(self, value: str) -> str:
        return value


class Registered(Choice):
    """One of a registry's names as they are when checked: a dataset registered later is a choice too."""

    def __init__(self, names: Callable[[], tuple[str, ...]]):
        object.__setattr__(self, "names", names)

    @property
    def options(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.names()


def _bound(value: float) -> str:
    """A bound as messages show it: 2147483647, 10000, 0.5 (not 2.14748e+09)."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def is_real(value: Any) -> bool:
    """An int or float that is not a bool (JSON's numbers, as Python holds them)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Number:
    """A finite int or float inside [lo, hi] (ends open where said); ``None`` allowed if optional.

    Integers are compared exactly, never through float: ``10**400`` is out of range, not an OverflowError."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False
    optional: bool = False

    def allowed(self) -> str:
        kind = "an integer" if self.integer else "a finite number"
        parts = []
        if self.lo > -math.inf:
            parts.append(f"{'>' if self.lo_open else '≥'} {_bound(self.lo)}")
        if self.hi < math.inf:
            parts.append(f"{'<' if self.hi_open else '≤'} {_bound(self.hi)}")
        text = kind + (" " + " and ".join(parts) if parts else "")
        return text + (" (or empty)" if self.optional else "")

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is allowed (``None`` aside)."""
        if not is_real(value):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.integer and isinstance(value, float) and not value.is_integer():
            return False
        too_low = value <= self.lo if self.lo_open else value < self.lo
        too_high = value >= self.hi if self.hi_open else value > self.hi
        return not (too_low or too_high)

    def check(self, name: str, value: Any) -> int | float | None:
        if value is None and self.optional:
            return None
        if not self.contains(value):
            raise ProcrustesError(f"{name}={shown(value)}: expected {self.allowed()}")
        return int(value) if self.integer else float(value)

    def parse(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text  # check() names what it is
        if text == "" and self.optional:
            return None
        if len(text) > MAX_NUMBER_TEXT:
            return text  # longer than any allowed value (and int() would refuse past 4300 digits)
        try:
            number = float(text)
        except ValueError:
            return text  # check() then names the bad text
        if not math.isfinite(number):
            return text  # '1e999' or 400 digits: check() names the text, not 'inf'
        return int(number) if self.integer and number.is_integer() else number

    def format(self, value: Any) -> str:
        return "" if value is None else repr(value)


@dataclass(frozen=True)
class Counts:
    """Optional list of per-class training counts, each an integer from 1 to ``MAX_COUNT``."""

    def allowed(self) -> str:
        return f"a list of 2 to {MAX_CLASSES} integers ≥ 1 and ≤ {MAX_COUNT}, one per class"

    def check(self, name: str, value: Any) -> list[int] | None:
        if value is None:
            return None
        each = Number(lo=1, hi=MAX_COUNT, integer=True)
        if isinstance(value, (list, tuple)) and 2 <= len(value) <= MAX_CLASSES and all(
                each.contains(c) for c in value):
            return [int(c) for c in value]
        raise ProcrustesError(f"{name}={shown(value)}: expected {self.allowed()}")

    def parse(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        if text == "":
            return None
        parts = text.split(",")
        if len(parts) > MAX_CLASSES or any(len(part.strip()) > MAX_NUMBER_TEXT for part in parts):
            return text  # check() names the text; int() of 5000 digits would raise
        try:
            return [int(part) for part in parts]
        except ValueError:
            return text

    def format(self, value: Any) -> str:
        return "" if value is None else ",".join(str(c) for c in value)


@dataclass(frozen=True)
class Text:
    """An optional free string (a folder or file path): not empty, at most ``MAX_TEXT`` characters.
    Whether it names a usable folder or file is checked where it is read."""

    def check(self, name: str, value: Any) -> str | None:
        if value is None or (isinstance(value, str) and 0 < len(value) <= MAX_TEXT):
            return value
        raise ProcrustesError(f"{name}={shown(value)}: expected a non-empty text of at most {MAX_TEXT} "
                              "characters, or nothing")

    def parse(self, text: Any) -> Any:
        return (text or None) if isinstance(text, str) else text

    def format(self, value: Any) -> str:
        return value or ""


@dataclass(frozen=True)
class Flag:
    """True or False."""

    def check(self, name: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        raise ProcrustesError(f"{name}={shown(value)}: expected true or false")

    def parse(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        return text

    def format(self, value: bool) -> str:
        return "1" if value else "0"


@dataclass(frozen=True)
class Names:
    """A list of names (CSV columns), each a non-empty text; in a link, a JSON list."""

    def check(self, name: str, value: Any) -> list[str]:
        if isinstance(value, (list, tuple)) and len(value) <= MAX_CLASSES and all(
                isinstance(v, str) and 0 < len(v) <= MAX_TEXT for v in value):
            return list(value)
        raise ProcrustesError(f"{name}={shown(value)}: expected a list of at most {MAX_CLASSES} names")

    def parse(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        try:
            return json.loads(text) if text.startswith("[") and len(text) <= MAX_TEXT * 4 else ([text] if text else [])
        except ValueError:
            return text

    def format(self, value: list[str]) -> str:
        return json.dumps(value, ensure_ascii=False) if value else ""


def _field(default: Any, rule: Any, help: str, in_link: bool = True) -> Any:
    meta = {"rule": rule, "help": help, "in_link": in_link}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


DATASETS = dataset_names()  # data/registry.py: one entry per dataset (the names registered on import)


@dataclass
class TrainConfig:
    """Everything one training run depends on. Invalid values raise ``ProcrustesError``."""

    # data and imbalance
    dataset: str = _field("mnist1d", Registered(dataset_names), "dataset to train on")
    profile: str = _field("step", Choice(("longtail", "exp", "step", "custom", "natural")),
                         "imbalance profile (natural: the data's own)")
    ratio: float = _field(100.0, Number(lo=1, hi=10_000), "largest / smallest class size")
    counts: list[int] | None = _field(None, Counts(), "per-class training counts (profile custom)")
    n_max: int | None = _field(None, Number(lo=1, hi=MAX_COUNT, integer=True, optional=True),
                               "training samples of the largest class (empty: all available)")
    # The defaults (20,000 samples, cnn1d with BatchNorm, width 32, 30 epochs, MFW at the penultimate
    # features at s = 0.5 for the first half) are the presets' STORY, chosen by benchmarks/story_presets.py on
    # validation seeds and confirmed on fresh ones: the minor classes under-fit, then over-fit, and MFW + LA
    # beats ERM + LA (results/story_presets.md). 10,000 samples ended every epoch with a mini-batch of 7, which
    # kept BatchNorm's minor classes from being fitted.
    n_samples: int = _field(20_000, Number(lo=100, hi=500_000, integer=True),
                            "samples generated for mnist1d / toy2d (train + test)")
    toy_shape: str = _field("spiral", Choice(("blobs", "moons", "spiral")), "shape of the toy2d data")
    val_per_class: int = _field(0, Number(lo=0, hi=MAX_COUNT, integer=True),
                                "balanced validation samples per class, from training data left over")
    data_seed: int | None = _field(None, Number(lo=0, hi=SEED_MAX, integer=True, optional=True),
                                   "seed of the imbalanced subset (empty: same as seed)")
    data_dir: str | None = _field(None, Text(), "folder of torchvision datasets")
    download: bool = _field(False, Flag(), "let torchvision download a missing dataset")
    data_path: str | None = _field(None, Text(), "your data (dataset your-data): a CSV, an NPZ of x and y, or a "
                                   "folder of class sub-folders of images; never in a link", in_link=False)
    data_label: str | None = _field(None, Text(), "the CSV's label column (empty: one named label, target or class)")
    data_drop: list[str] = _field([], Names(), "CSV columns left out (free text, identifiers)")
    data_hash: str | None = _field(None, Text(), "content hash your data must have (a link names them by it)")
    # model
    model: str = _field("auto", Choice(MODELS), "network (auto: the dataset's usual one)")
    width: int = _field(32, Number(lo=4, hi=1024, integer=True), "channels / hidden units of the model")
    norm: str = _field("batch", Choice(("batch", "none")),
                       "normalisation after each convolution: BatchNorm or none (cnn1d, cnn1d-s1, cnn2d)")
    attention: str = _field("none", Choice(ATTENTIONS),
                            "channel attention in the convolution blocks: none or se (squeeze-and-excitation)")
    se_reduction: int = _field(4, Number(lo=1, hi=64, integer=True),
                               "squeeze-and-excitation reduction r: the excitation has channels / r hidden units")
    bbn: bool = _field(False, Flag(), "BBN: two branches (instance and reversed sampling) handed over by "
                       "cumulative learning")
    backbone_weights: str | None = _field(None, Text(), "model resnet18-pretrained: its weights file (empty: "
                                          "torchvision's file in torch's hub cache); never in a link", in_link=False)
    backbone_frozen: bool = _field(False, Flag(), "model resnet18-pretrained: only the new classifier learns")
    backbone_size: int = _field(224, Number(lo=32, hi=512, integer=True),
                                "model resnet18-pretrained: images resized to this side (its weights: 224)")
    # transfer and decoupling
    init_checkpoint: str | None = _field(None, Text(),
                                         "start from this checkpoint (procrustes train --save-checkpoint)")
    finetune: str = _field("full", Choice(FINETUNES),
                           "with init_checkpoint: train every layer (full) or only a new classifier (linear-probe)")
    classifier_retrain_epochs: int = _field(0, Number(lo=0, hi=10_000, integer=True),
                                            "cRT: epochs of a new classifier on frozen features, class-balanced, "
                                            "after the main epochs (0: off)")
    # major feature weakening
    mfw_strength: float = _field(MFW.strength, Number(lo=0, hi=1),
                                 "MFW mixing strength s (with mixer mfw; 0 mixes nothing)")
    mfw_layer: str = _field(MFW.layer, Choice(MFW_LAYERS), "where features are mixed")
    mfw_gamma: float = _field(MFW.gamma, Number(lo=0, hi=10, lo_open=True), "exponent of the class weights")
    mfw_schedule: str = _field(MFW.schedule, Choice(MFW_SCHEDULES), "how the strength changes over epochs")
    mfw_until: float = _field(MFW.until, Number(lo=0, hi=1), "fraction of epochs warmup / linear weaken for")
    mfw_coef: str = _field(MFW.coef, Choice(("uniform", "beta")), "distribution of the coefficient u")
    mfw_alpha: float = _field(MFW.alpha, Number(lo=0, hi=100, lo_open=True), "alpha of Beta(alpha, alpha)")
    mfw_prob: float = _field(MFW.prob, Number(lo=0, hi=1), "fraction of major samples weakened per batch")
    mfw_weights: str = _field(MFW.weights, Choice(("count", "progress")),
                              "weakening weights from class size or from current training accuracy")
    mfw_detach: bool = _field(MFW.detach, Flag(), "stop the gradient through the partner's features in a mix")
    mfw_after_norm: bool = _field(MFW.after_norm, Flag(),
                                  "mix after the next BatchNorm, which then normalises the un-mixed batch")
    # methods (see `procrustes methods`): one loss, one sampler, one mixer, weight schedules, post-hoc steps
    loss: str = _field("ce", Choice(LOSSES), "training loss")
    sampler: str = _field("instance", Choice(SAMPLERS), "how an epoch draws its training samples")
    mixer: str = _field("none", Choice(MIXERS),
                        "how samples of a batch are mixed: none, mfw (major feature weakening), mixup, remix")
    focal_gamma: float = _field(1.0, Number(lo=0, hi=10), "focal loss exponent gamma")
    cb_beta: float = _field(0.999, Number(lo=0, hi=1, lo_open=True, hi_open=True),
                            "beta of the effective number of samples (cb-ce, DRW)")
    ldam_max_margin: float = _field(0.5, Number(lo=0, hi=5, lo_open=True), "LDAM margin of the smallest class")
    ldam_scale: float = _field(30.0, Number(lo=0, hi=100, lo_open=True), "LDAM logit scale s")
    ldam_cosine: bool = _field(True, Flag(), "LDAM with a cosine classifier (logits s·cos)")
    la_loss_tau: float = _field(1.0, Number(lo=0, hi=10), "tau of the logit-adjusted loss")
    cdt_gamma: float = _field(0.2, Number(lo=0, hi=2), "CDT temperature exponent gamma")
    mixup_alpha: float = _field(1.0, Number(lo=0, hi=100, lo_open=True), "mixup / remix Beta(alpha, alpha)")
    remix_kappa: float = _field(3.0, Number(lo=1, hi=100), "remix: class-size ratio that moves the label")
    remix_tau: float = _field(0.5, Number(lo=0, hi=1), "remix: mixing share below which the label moves")
    drw_epoch: int = _field(0, Number(lo=0, hi=10_000, integer=True),
                            "deferred re-weighting: plain epochs before class-balanced weights start (0: off)")
    weight_schedule: str = _field("constant", Choice(RAMPS),
                                  "curriculum of class weights: constant, or from uniform linearly / by cosine")
    weight_until: float = _field(1.0, Number(lo=0, hi=1, lo_open=True),
                                 "fraction of epochs the class-weight curriculum takes to reach full weights")
    grad_scale: str = _field("none", Choice(("none", "adaptive")),
                             "per-class gradient scaling from last epoch's feature gradients")
    grad_scale_power: float = _field(1.0, Number(lo=0, hi=4), "exponent q of adaptive gradient scaling")
    # post-hoc
    la_tau: float = _field(0.0, Number(lo=0, hi=10), "post-hoc logit adjustment tau (0: off)")
    tau_norm: float = _field(0.0, Number(lo=0, hi=5), "post-hoc tau-normalised classifier exponent (0: off)")
    # optimisation
    epochs: int = _field(30, Number(lo=1, hi=10_000, integer=True), "training epochs")
    eval_every: int = _field(1, Number(lo=1, hi=10_000, integer=True),
                             "evaluation passes (and a record) every this many epochs, and after the last")
    batch_size: int = _field(128, Number(lo=1, hi=65_536, integer=True), "mini-batch size")
    lr: float = _field(0.05, Number(lo=0, hi=100, lo_open=True), "learning rate")
    lr_schedule: str = _field("cosine", Choice(("cosine", "constant", "step-warmup")),
                              "learning-rate schedule (step-warmup: 5 warm-up epochs, x0.01 at 80 %, x0.0001 at 90 %)")
    augment: str = _field("none", Choice(tuple(AUGMENTS)),
                          "augmentation of training batches on the device (signal: shift, amplitude, noise, time warp)")
    augment_classes: str = _field("all", Choice(AUGMENT_CLASSES),
                                  "whose samples are augmented: all, minor (the tail group), inverse (1 − n_c/n_max)")
    augment_prob: float = _field(1.0, Number(lo=0, hi=1), "probability that a chosen class's sample is augmented")
    amp: bool = _field(False, Flag(), "mixed precision (bfloat16) on CUDA")
    optimizer: str = _field("sgd", Choice(("sgd", "adam")), "optimiser")
    momentum: float = _field(0.9, Number(lo=0, hi=1, hi_open=True), "SGD momentum")
    weight_decay: float = _field(5e-4, Number(lo=0, hi=1), "L2 weight decay")
    # execution
    seed: int = _field(0, Number(lo=0, hi=SEED_MAX, integer=True), "seed of initialisation and batches")
    device: str = _field("auto", Choice(("auto", "cpu", "cuda")), "where to train")
    threads: int = _field(0, Number(lo=0, hi=256, integer=True), "CPU threads for torch (0: automatic)")

    def __post_init__(self) -> None:
        for f in fields(self):
            setattr(self, f.name, f.metadata["rule"].check(f.name, getattr(self, f.name)))
        if self.profile == "custom" and self.counts is None:
            raise ProcrustesError("counts=None: profile 'custom' needs explicit per-class counts")
        if self.dataset == "your-data" and self.data_path is None and self.data_hash is None:
            raise ProcrustesError("data_path=None: dataset 'your-data' needs the path of your data (--data PATH)")

    # ------------------------------------------------------------ round trips

    def replace(self, **changes: Any) -> TrainConfig:
        """A validated copy with some fields changed."""
        unknown = set(changes) - set(field_names())
        if unknown:
            raise _unknown(sorted(unknown)[0])
        return dataclasses.replace(self, **changes)

    def with_methods(self, *names: str, **changes: Any) -> TrainConfig:
        """A copy with the settings that select each named method (``procrustes methods``) applied,
        then ``changes``: ``TrainConfig().with_methods("mfw", "logit-adjustment", seed=3)``."""
        from .methods.catalogue import method_settings  # the catalogue describes methods; it is a later stage

        return self.replace(**{**method_settings(*names), **changes})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _copy(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Any) -> TrainConfig:
        """A validated config from a mapping of settings (keys that are not settings are refused)."""
        if not isinstance(data, dict):
            raise ProcrustesError(f"config={shown(data)}: expected a mapping of settings")
        names = set(field_names())
        unknown = [key for key in data if key not in names]  # also non-string keys (YAML allows them)
        if unknown:
            raise _unknown(min(unknown, key=shown))
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> TrainConfig:
        """A validated config from JSON text (``str``, or ``bytes`` in UTF-8 / 16 / 32)."""
        return cls.from_dict(parse_json(text, "config"))

    def to_query(self, changed_only: bool = True) -> str:
        """URL query string; by default only the settings that differ from the defaults."""
        default = TrainConfig()
        pairs = []
        for f in fields(self):
            value = getattr(self, f.name)
            if (changed_only and value == getattr(default, f.name)) or not f.metadata["in_link"]:
                continue
            pairs.append((f.name, f.metadata["rule"].format(value)))
        return urlencode(pairs)

    @classmethod
    def from_query(cls, query: Any, strict: bool = False) -> TrainConfig:
        """Parse a query string (or a mapping of strings, where a list stands for its last value);
        keys that are not settings are ignored unless ``strict``."""
        if isinstance(query, str):
            try:
                items = parse_qsl(query.lstrip("?"), keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
            except ValueError:
                raise ProcrustesError(f"query={shown(query)}: expected at most {MAX_QUERY_FIELDS} "
                                      "settings") from None
        elif isinstance(query, Mapping):
            items = list(query.items())
        else:
            raise ProcrustesError(f"query={shown(query)}: expected a query string or a mapping of settings")
        rules = {f.name: f.metadata["rule"] for f in fields(cls) if f.metadata["in_link"]}  # a link names no path
        data = {}
        for key, raw in items:
            if key not in rules:
                if strict:
                    raise _unknown(key)
                continue
            if isinstance(raw, (list, tuple)):  # streamlit's query_params.to_dict() may give lists
                if not raw:
                    raise ProcrustesError(f"{key}=[]: expected a value")
                raw = raw[-1]
            data[key] = rules[key].parse(raw)  # text is parsed; anything else is checked as it is
        return cls(**data)


MAX_QUERY_FIELDS = 1_000  # a link with more parameters than this is not a link to a run
def _unknown(name: Any) -> ProcrustesError:
    return ProcrustesError(f"unknown setting {shown(name)}: expected one of {', '.join(field_names())}")


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def field_names() -> list[str]:
    return [f.name for f in fields(TrainConfig)]


def field_help() -> dict[str, str]:
    """One line of help per setting, for the CLI, the app and the lessons."""
    return {f.name: f.metadata["help"] for f in fields(TrainConfig)}


def field_rule(name: str) -> Any:
    """The declared constraint of one setting (Choice / Number / ...), e.g. for a widget's range."""
    for f in fields(TrainConfig):
        if f.name == name:
            return f.metadata["rule"]
    raise _unknown(name)
