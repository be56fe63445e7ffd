"""The run file's schema: the format, version and limits of a saved run, and the checks that read one
field by field (a bad file is one line naming its first problem; a version-1 file is migrated)."""

from __future__ import annotations

import math
import sys
from dataclasses import MISSING, dataclass, fields
from typing import Any

from ..config import MAX_CLASSES, MAX_COUNT, Number, TrainConfig, field_rule
from ..errors import ProcrustesError, shown

FORMAT = "procrustes-run"
VERSION = 2  # 2: mixer 'none' is plain training, 'loss_weights', post-hoc variants, threads
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


def _text(value: Any, limit: int) -> bool:
    """A string of at most ``limit`` printable characters: no line breaks or other control characters
    (messages stay one line), no lone surrogates (pages stay valid UTF-8)."""
    return isinstance(value, str) and len(value) <= limit and value.isprintable()


def _names(value: Any) -> bool:
    return _text(value, MAX_NAME) and value != ""


def parse_run(data: Any, source: str, history_class: type, record_class: type) -> Any:
    """A ``history_class`` (RunHistory) from a run file's dict, every field checked; a bad one raises one
    line naming the first problem, ``'run.json': not a valid Procrustes run (...)``."""
    try:
        return _validated(history_class, record_class, data)
    except _Invalid as err:
        raise ProcrustesError(f"{source}: not a valid Procrustes run ({err})") from None


def _validated(cls: type, record_class: type, data: Any) -> Any:
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
            record = _record(record_class, raw, num_classes, groups, variants)
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


def _record(record_class: type, raw: Any, num_classes: int, groups: dict, variants: dict) -> Any:
    """One epoch's record, each field checked by ``RECORD_SCHEMA`` (fields it does not know are ignored)."""
    if not isinstance(raw, dict):
        raise _Invalid(f"not an object but {shown(raw)}")
    missing = [f.name for f in fields(record_class) if f.default is f.default_factory is MISSING
               and f.name not in raw]
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
    return record_class(epoch=epoch, **values)


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


def finite(value: Any) -> Any:
    """JSON has no NaN: write non-finite floats as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value
