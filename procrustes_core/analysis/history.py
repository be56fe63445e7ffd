"""A run's record: its config and one EpochRecord per epoch; tidy frames and safe JSON files."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import MAX_CLASSES, MAX_COUNT, Number, TrainConfig, field_rule, parse_json
from ..data.imbalance import head_name, tail_name
from ..errors import ProcrustesError, shown, shown_path
from ..files import atomic_write_text, read_limited

FORMAT = "procrustes-run"
VERSION = 2  # 2: mixer 'none' is plain training, 'loss_weights', post-hoc variants, threads
PER_CLASS = ("train_acc", "test_acc", "loss", "grad_norm", "precision", "recall", "f1")
# what a post-hoc variant re-scores of an epoch (the test and validation fields; training is shared)
VARIANT_FIELDS = ("test_acc", "precision", "recall", "f1", "accuracy", "balanced_acc", "group_test_acc",
                  "val_acc", "val_balanced_acc", "confusion")
# what a run file may hold at most: a file past these is not a run this project wrote
MAX_RECORDS = 10_000
MAX_NAME = 200  # characters of a class, group or variant name
MAX_NOTE = 2_000  # characters of 'stopped' and of each warning
MAX_WARNINGS = 100
MAX_VARIANTS = 100
MAX_THREADS = 4_096
MAX_RUN_BYTES = 256 * 2**20


@dataclass
class EpochRecord:
    """What one epoch of training left behind (per-class lists are indexed by class)."""

    epoch: int
    train_acc: list[float]  # on the un-mixed training set, eval mode
    test_acc: list[float]  # recall on the balanced test set (post-hoc adjustment applied if set)
    loss: list[float]  # mean cross-entropy per class on the un-mixed training set
    # mean ‖∂ℓ_i/∂h_i‖ over the class's training samples: h = penultimate features, ℓ = plain
    # cross-entropy in eval mode (whatever loss the run trains with), so runs compare on one scale
    grad_norm: list[float]
    precision: list[float]
    recall: list[float]
    f1: list[float]
    accuracy: float  # overall test accuracy
    balanced_acc: float  # mean per-class test accuracy
    seconds: float  # wall time since training started
    group_train_acc: dict[str, float] = field(default_factory=dict)
    group_test_acc: dict[str, float] = field(default_factory=dict)
    train_loss: float = math.nan  # mean training objective over the epoch's mini-batches
    lr: float = math.nan
    mfw_strength: float = 0.0  # strength used in this epoch (after the schedule)
    val_acc: list[float] | None = None  # balanced validation split, when the config asks for one
    val_balanced_acc: float | None = None
    confusion: list[list[int]] | None = None  # test confusion matrix (every epoch up to 20 classes)
    loss_weights: list[float] | None = None  # per-class loss weights used in this epoch (None: all equal)
    # the same model scored under other post-hoc settings: {name: {field: value}} for VARIANT_FIELDS
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    stage: int = 1  # 2: classifier re-training (cRT) after the run's epochs
    bbn_alpha: float | None = None  # BBN: the conventional branch's weight α in this epoch
    # BBN: each branch alone on the test set, per-class accuracy: {"conventional": [...], "re-balancing": [...]}
    branch_test_acc: dict[str, list[float]] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunHistory:
    """Config, class counts and groups, and the records of the epochs trained so far."""

    config: TrainConfig
    counts: list[int]
    groups: dict[str, list[int]]
    class_names: list[str]
    records: list[EpochRecord] = field(default_factory=list)
    stopped: str | None = None  # why training ended early (diverged, stopped by the user), if it did
    threads: int | None = None  # torch threads the run trained with (results depend on it in the last bits)
    variants: dict[str, dict[str, float]] = field(default_factory=dict)  # name → post-hoc setting scored
    warnings: list[str] = field(default_factory=list)  # one line each: e.g. a loss that exploded but stayed finite

    @property
    def num_classes(self) -> int:
        return len(self.counts)

    @property
    def last(self) -> EpochRecord | None:
        return self.records[-1] if self.records else None

    @property
    def finished(self) -> bool:
        """Whether the run trained every epoch its config asks for (not stopped, not diverged)."""
        last = self.last
        return (self.stopped is None and last is not None
                and last.epoch == self.config.epochs + self.config.classifier_retrain_epochs)

    def series(self, name: str) -> list[Any]:
        """One record field over epochs, e.g. ``series("balanced_acc")``."""
        return [getattr(r, name) for r in self.records]

    def group_series(self, metric: str) -> dict[str, list[float]]:
        """A per-class metric averaged over each group, per epoch: ``{"minor": [...], ...}``."""
        from .metrics import group_means  # here, so that reading a run file needs no torch

        means = [group_means(getattr(r, metric), self.groups) for r in self.records]
        return {group: [m[group] for m in means] for group in self.groups}

    def branch_group_series(self) -> dict[str, dict[str, list[float]]]:
        """BBN runs: each branch's test accuracy averaged over each group, per epoch —
        ``{"conventional": {"major": [...], "minor": [...]}, "re-balancing": {...}}`` (empty otherwise)."""
        from .metrics import group_means

        records = [r for r in self.records if r.branch_test_acc]
        if not records:
            return {}
        out: dict[str, dict[str, list[float]]] = {}
        for branch in records[0].branch_test_acc:
            means = [group_means(r.branch_test_acc[branch], self.groups) for r in records]
            out[branch] = {group: [m[group] for m in means] for group in self.groups}
        return out

    @property
    def head(self) -> str:
        """The most frequent group's name (``major`` / ``many`` ...)."""
        return head_name(self.groups)

    @property
    def tail(self) -> str:
        """The least frequent group's name (``minor`` / ``few`` ...)."""
        return tail_name(self.groups)

    def head_tail(self, metric: str = "train_acc") -> tuple[list[float], list[float]]:
        """Per-epoch means of a per-class metric over the head group and over the tail group."""
        by_group = self.group_series(metric)
        return by_group[self.head], by_group[self.tail]

    def gap(self, metric: str = "train_acc") -> list[float]:
        """Per epoch: the head group's mean minus the tail group's (how far the minor classes lag)."""
        head, tail = self.head_tail(metric)
        return [h - t for h, t in zip(head, tail)]

    def gradient_ratio(self) -> list[float]:
        """Per epoch: the tail group's mean feature-gradient norm over the head group's."""
        head, tail = self.head_tail("grad_norm")
        return [t / h if h > 0 else (math.inf if t > 0 else math.nan) for h, t in zip(head, tail)]

    def variant(self, name: str) -> RunHistory:
        """This run as scored under one of its post-hoc variants (same training, other test scores)."""
        if name not in self.variants:
            raise ProcrustesError(f"variant={shown(name)}: this run has {', '.join(self.variants) or 'no variants'}")
        records = []
        for r in self.records:
            scored = r.variants.get(name, {})
            changes = {f: scored[f] for f in VARIANT_FIELDS if f in scored}
            records.append(dataclasses.replace(r, **changes, variants={}))
        config = self.config.replace(**self.variants[name])
        return RunHistory(config, self.counts, self.groups, self.class_names, records, self.stopped, self.threads,
                          warnings=list(self.warnings))

    def to_frame(self):
        """Tidy table: one row per (epoch, class) with every per-class metric, count and group."""
        import pandas as pd

        group_of = {c: g for g, members in self.groups.items() for c in members}
        rows = []
        for r in self.records:
            for c in range(self.num_classes):
                row = {"epoch": r.epoch, "class": c, "class_name": self.class_names[c],
                       "count": self.counts[c], "group": group_of.get(c, "")}
                row.update({name: getattr(r, name)[c] for name in PER_CLASS})
                rows.append(row)
        return pd.DataFrame(rows, columns=["epoch", "class", "class_name", "count", "group", *PER_CLASS])

    def summary_frame(self):
        """One row per epoch with the overall and group metrics."""
        import pandas as pd

        from .metrics import group_means

        rows = []
        for r in self.records:
            row = {"epoch": r.epoch, "stage": r.stage, "accuracy": r.accuracy, "balanced_acc": r.balanced_acc,
                   "train_loss": r.train_loss, "lr": r.lr, "mfw_strength": r.mfw_strength, "seconds": r.seconds}
            if r.bbn_alpha is not None:
                row["bbn_alpha"] = r.bbn_alpha
            for branch, acc in (r.branch_test_acc or {}).items():
                row.update({f"{branch}_test_acc_{g}": v for g, v in group_means(acc, self.groups).items()})
            row.update({f"train_acc_{g}": v for g, v in r.group_train_acc.items()})
            row.update({f"test_acc_{g}": v for g, v in r.group_test_acc.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "version": VERSION, "config": self.config.to_dict(), "counts": list(self.counts),
            "groups": self.groups, "class_names": list(self.class_names), "stopped": self.stopped,
            "threads": self.threads, "variants": self.variants, "warnings": list(self.warnings),
            "records": [r.to_dict() for r in self.records],
        }

    def to_json(self) -> str:
        return json.dumps(_finite(self.to_dict()))

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON atomically: a temporary file in the same folder, then a rename."""
        return atomic_write_text(path, self.to_json(), "out")

    @classmethod
    def from_dict(cls, data: Any, source: str = "run") -> RunHistory:
        """A run from its dict, every field's type and shape checked (``RUN_SCHEMA`` below): a bad one
        raises one line naming the first problem, ``'run.json': not a valid Procrustes run (...)``."""
        try:
            return _validated(cls, data)
        except _Invalid as err:
            raise ProcrustesError(f"{source}: not a valid Procrustes run ({err})") from None

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "run") -> RunHistory:
        return cls.from_dict(parse_json(text, source), source)

    @classmethod
    def load(cls, path: str | os.PathLike) -> RunHistory:
        source = shown_path(path)
        return cls.from_json(read_limited(path, "run", MAX_RUN_BYTES), source)


# ---------------------------------------------------------------- the run-file schema
#
# Top level: format 'procrustes-run', version 2 (1 is migrated), config (a valid TrainConfig),
# counts (2..1000 integers 1..10^9), class_names (one string per class), groups (names → class
# indices that partition the classes, from the largest classes' group to the smallest's), stopped
# (string or null), threads (null or 1..4096), variants (name → la_tau / tau_norm), warnings
# (strings), records (at most 10,000, epochs increasing, each as RECORD_SCHEMA says). Strings are
# at most MAX_NAME (names) or MAX_NOTE (notes) characters of printable text.


class _Invalid(Exception):
    """The first problem found in a run file (a phrase; ``from_dict`` adds the file's name)."""


_FLOAT_MAX = sys.float_info.max
_UNIT = Number(lo=0, hi=1)
_NON_NEGATIVE = Number(lo=0, hi=_FLOAT_MAX)
_REAL = Number(lo=-_FLOAT_MAX, hi=_FLOAT_MAX)
_CELL = Number(lo=0, hi=MAX_COUNT * MAX_CLASSES, integer=True)


def _missing(value: Any) -> bool:
    """null, or NaN (what a finite-only JSON writer turned into null, or a NaN literal)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class _Numbers:
    """A number (``per_class``: a list of one per class) within ``rule``, null allowed if ``nullable``."""

    rule: Number
    what: str
    per_class: bool = False
    nullable: bool = True
    optional: bool = False  # the whole field may be null (val_acc, loss_weights ...)

    def allows(self, value: Any) -> bool:
        return (self.nullable and _missing(value)) or self.rule.contains(value)

    def check(self, name: str, value: Any, num_classes: int, groups: dict) -> Any:
        if value is None and self.optional:
            return None
        if self.per_class:
            if not isinstance(value, list) or len(value) != num_classes or not all(self.allows(v) for v in value):
                raise _Invalid(f"{name!r} must list {num_classes} {self.what}, not {shown(value)}")
            return [math.nan if _missing(v) else float(v) for v in value]
        if not self.allows(value):
            raise _Invalid(f"{name!r} must be {self.what}, not {shown(value)}")
        return math.nan if _missing(value) else float(value)


@dataclass(frozen=True)
class _GroupScores:
    """Group name → a number in [0, 1] or null, for groups of this run."""

    def check(self, name: str, value: Any, num_classes: int, groups: dict) -> dict[str, float]:
        if not isinstance(value, dict) or not all(
                k in groups and (_missing(v) or _UNIT.contains(v)) for k, v in value.items()):
            raise _Invalid(f"{name!r} must map this run's groups ({', '.join(groups)}) to numbers in [0, 1] "
                           f"or null, not {shown(value)}")
        return {k: math.nan if _missing(v) else float(v) for k, v in value.items()}


@dataclass(frozen=True)
class _Confusion:
    """null, or a C × C matrix of non-negative integers (rows: true class)."""

    def check(self, name: str, value: Any, num_classes: int, groups: dict) -> list[list[int]] | None:
        if value is None:
            return None
        if not isinstance(value, list) or len(value) != num_classes or not all(
                isinstance(row, list) and len(row) == num_classes and all(_CELL.contains(v) for v in row)
                for row in value):
            raise _Invalid(f"{name!r} must be a {num_classes} × {num_classes} matrix of non-negative integers "
                           f"or null, not {shown(value)}")
        return [[int(v) for v in row] for row in value]


_ACCURACIES = _Numbers(_UNIT, "numbers in [0, 1] or null", per_class=True)
@dataclass(frozen=True)
class _Branches:
    """BBN's per-branch test accuracy: branch name → one accuracy per class (or the field null)."""

    def check(self, name: str, value: Any, num_classes: int, groups: dict) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict) or not 1 <= len(value) <= 4 or not all(_names(k) for k in value):
            raise _Invalid(f"{name!r} must map branch names to per-class accuracies, not {shown(value)}")
        return {k: _ACCURACIES.check(f"{name}.{k}", v, num_classes, groups) for k, v in value.items()}


RECORD_SCHEMA: dict[str, Any] = {
    "train_acc": _ACCURACIES, "test_acc": _ACCURACIES, "precision": _ACCURACIES, "recall": _ACCURACIES,
    "f1": _ACCURACIES,
    "loss": _Numbers(_NON_NEGATIVE, "non-negative numbers or null", per_class=True),
    "grad_norm": _Numbers(_NON_NEGATIVE, "non-negative numbers or null", per_class=True),
    "accuracy": _Numbers(_UNIT, "a number in [0, 1] or null"),
    "balanced_acc": _Numbers(_UNIT, "a number in [0, 1] or null"),
    "seconds": _Numbers(_NON_NEGATIVE, "a non-negative number or null"),
    "group_train_acc": _GroupScores(), "group_test_acc": _GroupScores(),
    "train_loss": _Numbers(_REAL, "a finite number or null"),
    "lr": _Numbers(_NON_NEGATIVE, "a non-negative number or null"),
    "mfw_strength": _Numbers(_UNIT, "a number in [0, 1]", nullable=False),
    "val_acc": _Numbers(_UNIT, "numbers in [0, 1] or null (or be null)", per_class=True, optional=True),
    "val_balanced_acc": _Numbers(_UNIT, "a number in [0, 1] or null"),
    "confusion": _Confusion(),
    "loss_weights": _Numbers(_NON_NEGATIVE, "non-negative numbers (or be null)", per_class=True,
                             nullable=False, optional=True),
    "stage": _Numbers(Number(lo=1, hi=2, integer=True), "1 (training) or 2 (classifier re-training)",
                      nullable=False),
    "bbn_alpha": _Numbers(_UNIT, "a number in [0, 1] (or be null)", nullable=False, optional=True),
    "branch_test_acc": _Branches(),
}
REQUIRED = tuple(f.name for f in fields(EpochRecord) if f.default is f.default_factory is MISSING)


def _text(value: Any, limit: int) -> bool:
    """A string of at most ``limit`` printable characters: no line breaks or other control characters
    (messages stay one line), no lone surrogates (pages stay valid UTF-8)."""
    return isinstance(value, str) and len(value) <= limit and value.isprintable()


def _names(value: Any) -> bool:
    return _text(value, MAX_NAME) and value != ""


def _validated(cls: type[RunHistory], data: Any) -> RunHistory:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _Invalid(f"'format' is not {FORMAT!r}")
    if data.get("version") == 1:
        data = _from_version_1(data)
    if data.get("version") != VERSION:
        raise _Invalid(f"version {shown(data.get('version'))}, expected {VERSION} (or 1)")
    if "config" not in data:
        raise _Invalid("no 'config'")
    try:
        config = TrainConfig.from_dict(data["config"])
    except ProcrustesError as err:
        raise _Invalid(f"config: {err}") from None
    counts = data.get("counts")
    count = Number(lo=1, hi=MAX_COUNT, integer=True)
    if not isinstance(counts, list) or not 2 <= len(counts) <= MAX_CLASSES or not all(
            isinstance(c, int) and count.contains(c) for c in counts):
        raise _Invalid(f"'counts' must list 2 to {MAX_CLASSES} integers from 1 to {MAX_COUNT}, not {shown(counts)}")
    num_classes = len(counts)
    names = data.get("class_names")
    if not isinstance(names, list) or len(names) != num_classes or not all(_names(n) for n in names):
        raise _Invalid(f"'class_names' must list {num_classes} names of 1 to {MAX_NAME} printable characters, "
                       f"not {shown(names)}")
    groups = _groups(data.get("groups"), counts)
    stopped = data.get("stopped")
    if stopped is not None and not _text(stopped, MAX_NOTE):
        raise _Invalid(f"'stopped' must be null or a line of at most {MAX_NOTE} characters, not {shown(stopped)}")
    threads = data.get("threads")
    if threads is not None and not (isinstance(threads, int) and Number(lo=1, hi=MAX_THREADS).contains(threads)):
        raise _Invalid(f"'threads' must be a positive integer ≤ {MAX_THREADS} or null, not {shown(threads)}")
    variants = _variants({} if data.get("variants") is None else data["variants"])
    warnings = data.get("warnings", [])
    if not isinstance(warnings, list) or len(warnings) > MAX_WARNINGS or not all(
            _text(w, MAX_NOTE) for w in warnings):
        raise _Invalid(f"'warnings' must list at most {MAX_WARNINGS} lines of at most {MAX_NOTE} characters, "
                       f"not {shown(warnings)}")
    raw_records = data.get("records")
    if not isinstance(raw_records, list) or len(raw_records) > MAX_RECORDS:
        raise _Invalid(f"'records' must be a list of at most {MAX_RECORDS} epochs, not {shown(raw_records)}")
    records, last_epoch = [], 0
    for i, raw in enumerate(raw_records):
        try:
            record = _record(raw, num_classes, groups, variants)
        except _Invalid as err:
            raise _Invalid(f"record {i}: {err}") from None
        if not last_epoch < record.epoch <= config.epochs + config.classifier_retrain_epochs:
            raise _Invalid(f"record {i}: 'epoch' must be an integer after {last_epoch} and ≤ the config's "
                           f"{config.epochs + config.classifier_retrain_epochs} epochs, not {shown(record.epoch)}")
        last_epoch = record.epoch
        records.append(record)
    return cls(config, list(counts), groups, list(names), records, stopped, threads, variants, list(warnings))


def _groups(groups: Any, counts: list[int]) -> dict[str, list[int]]:
    """Group names → class indices: every class in exactly one group, groups from the largest classes'
    to the smallest's (no class of a later group larger than one of an earlier group)."""
    num_classes = len(counts)
    if not isinstance(groups, dict) or not 1 <= len(groups) <= num_classes or not all(
            _names(g) and isinstance(m, list) and m and all(
                isinstance(c, int) and not isinstance(c, bool) and 0 <= c < num_classes for c in m)
            for g, m in groups.items()):
        raise _Invalid(f"'groups' must map names to non-empty lists of class indices 0..{num_classes - 1}, "
                       f"not {shown(groups)}")
    members = sorted(c for m in groups.values() for c in m)
    if members != list(range(num_classes)):
        raise _Invalid(f"'groups' must hold every class 0..{num_classes - 1} exactly once, not {shown(groups)}")
    sizes = [[counts[c] for c in m] for m in groups.values()]
    for (name, smaller), (bigger_name, bigger) in zip(zip(groups, sizes), zip(list(groups)[1:], sizes[1:])):
        if min(smaller) < max(bigger):
            raise _Invalid(f"'groups' must run from the largest classes to the smallest: {name!r} has a class of "
                           f"{min(smaller)} samples, {bigger_name!r} one of {max(bigger)}")
    return {g: list(m) for g, m in groups.items()}


def _variants(variants: Any) -> dict[str, dict[str, float]]:
    """Variant names → the post-hoc settings (la_tau, tau_norm) they were scored under."""
    if not isinstance(variants, dict) or len(variants) > MAX_VARIANTS or not all(
            _names(n) and isinstance(v, dict) and set(v) <= {"la_tau", "tau_norm"} for n, v in variants.items()):
        raise _Invalid("'variants' must map names to post-hoc settings (la_tau, tau_norm), "
                       f"not {shown(variants)}")
    checked = {}
    for name, setting in variants.items():
        try:
            checked[name] = {k: field_rule(k).check(k, v) for k, v in setting.items()}
        except ProcrustesError as err:
            raise _Invalid(f"variant {name!r}: {err}") from None
    return checked


def _record(raw: Any, num_classes: int, groups: dict, variants: dict) -> EpochRecord:
    """One epoch's record, each field checked by ``RECORD_SCHEMA`` (fields it does not know are ignored)."""
    if not isinstance(raw, dict):
        raise _Invalid(f"not an object but {shown(raw)}")
    missing = [name for name in REQUIRED if name not in raw]
    if missing:
        raise _Invalid(f"lacks {missing[0]!r}")
    epoch = raw["epoch"]
    if not (isinstance(epoch, int) and Number(lo=1, hi=MAX_RECORDS * 10).contains(epoch)):
        raise _Invalid(f"'epoch' must be a positive integer, not {shown(epoch)}")
    values = {name: rule.check(name, raw[name], num_classes, groups)
              for name, rule in RECORD_SCHEMA.items() if name in raw}
    scored = raw.get("variants", {})
    if not isinstance(scored, dict) or not all(n in variants and isinstance(v, dict) and set(v) <= set(VARIANT_FIELDS)
                                               for n, v in scored.items()):
        raise _Invalid(f"'variants' must map this run's variants to scores ({', '.join(VARIANT_FIELDS)}), "
                       f"not {shown(scored)}")
    try:
        values["variants"] = {n: {f: RECORD_SCHEMA[f].check(f, v, num_classes, groups) for f, v in fields_.items()}
                              for n, fields_ in scored.items()}
    except _Invalid as err:
        raise _Invalid(f"variants: {err}") from None
    return EpochRecord(epoch=epoch, **values)


def _from_version_1(data: dict[str, Any]) -> dict[str, Any]:
    """A version-1 run file in version 2's terms: there, ``mixer='mfw'`` with strength 0 was plain
    training, DRW's epoch counted from 1, and per-epoch loss weights were called ``class_weights``."""
    data = dict(data, version=2)
    config = data.get("config")
    if isinstance(config, dict):
        config = dict(config)
        if config.get("mixer", "mfw") == "mfw" and not config.get("mfw_strength"):
            config["mixer"] = "none"
            config.pop("mfw_strength", None)
        if isinstance(config.get("drw_epoch"), int) and config["drw_epoch"] > 0:
            config["drw_epoch"] -= 1
        data["config"] = config
    records = data.get("records")
    if isinstance(records, list):
        data["records"] = [{("loss_weights" if k == "class_weights" else k): v for k, v in r.items()}
                           if isinstance(r, dict) else r for r in records]
    return data


def _finite(value: Any) -> Any:
    """JSON has no NaN: write non-finite floats as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
