"""A run's record: its config and one EpochRecord per epoch; tidy frames and safe JSON files."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import TrainConfig
from ..data.imbalance import head_name, tail_name
from ..errors import ProcrustesError
from ..files import atomic_write_text
from .metrics import group_means

FORMAT = "procrustes-run"
VERSION = 2  # 2: mixer 'none' is plain training, 'loss_weights', post-hoc variants, threads
PER_CLASS = ("train_acc", "test_acc", "loss", "grad_norm", "precision", "recall", "f1")
# what a post-hoc variant re-scores of an epoch (the test and validation fields; training is shared)
VARIANT_FIELDS = ("test_acc", "precision", "recall", "f1", "accuracy", "balanced_acc", "group_test_acc",
                  "val_acc", "val_balanced_acc", "confusion")


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

    @property
    def num_classes(self) -> int:
        return len(self.counts)

    @property
    def last(self) -> EpochRecord | None:
        return self.records[-1] if self.records else None

    def series(self, name: str) -> list[Any]:
        """One record field over epochs, e.g. ``series("balanced_acc")``."""
        return [getattr(r, name) for r in self.records]

    def group_series(self, metric: str) -> dict[str, list[float]]:
        """A per-class metric averaged over each group, per epoch: ``{"minor": [...], ...}``."""
        means = [group_means(getattr(r, metric), self.groups) for r in self.records]
        return {group: [m[group] for m in means] for group in self.groups}

    def branch_group_series(self) -> dict[str, dict[str, list[float]]]:
        """BBN runs: each branch's test accuracy averaged over each group, per epoch —
        ``{"conventional": {"major": [...], "minor": [...]}, "re-balancing": {...}}`` (empty otherwise)."""
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
        return [t / h if h > 0 else math.inf for h, t in zip(head, tail)]

    def variant(self, name: str) -> RunHistory:
        """This run as scored under one of its post-hoc variants (same training, other test scores)."""
        if name not in self.variants:
            raise ProcrustesError(f"variant={name!r}: this run has {', '.join(self.variants) or 'no variants'}")
        records = []
        for r in self.records:
            scored = r.variants.get(name, {})
            changes = {f: scored[f] for f in VARIANT_FIELDS if f in scored}
            records.append(dataclasses.replace(r, **changes, variants={}))
        config = self.config.replace(**self.variants[name])
        return RunHistory(config, self.counts, self.groups, self.class_names, records, self.stopped, self.threads)

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
            "threads": self.threads, "variants": self.variants, "records": [r.to_dict() for r in self.records],
        }

    def to_json(self) -> str:
        return json.dumps(_finite(self.to_dict()))

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON atomically: a temporary file in the same folder, then a rename."""
        return atomic_write_text(path, self.to_json(), "out")

    @classmethod
    def from_dict(cls, data: Any, source: str = "run") -> RunHistory:
        def bad(problem: str) -> ProcrustesError:
            return ProcrustesError(f"{source}: not a valid Procrustes run ({problem})")

        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise bad(f"'format' is not {FORMAT!r}")
        if data.get("version") == 1:
            data = _from_version_1(data)
        if data.get("version") != VERSION:
            raise bad(f"version {data.get('version')!r}, expected {VERSION} (or 1)")
        try:
            config = TrainConfig.from_dict(data["config"])
        except ProcrustesError as err:
            raise bad(f"config: {err}") from None
        except KeyError:
            raise bad("no 'config'") from None
        counts, names, groups = data.get("counts"), data.get("class_names"), data.get("groups")
        if not isinstance(counts, list) or not all(isinstance(c, int) and c >= 1 for c in counts) or len(counts) < 2:
            raise bad("'counts' must list at least 2 positive integers")
        num_classes = len(counts)
        if not isinstance(names, list) or len(names) != num_classes:
            raise bad(f"'class_names' must list {num_classes} names")
        if not isinstance(groups, dict) or not all(
            isinstance(m, list) and all(isinstance(c, int) and 0 <= c < num_classes for c in m) for m in groups.values()
        ):
            raise bad("'groups' must map names to lists of class indices")
        raw_records = data.get("records")
        if not isinstance(raw_records, list):
            raise bad("'records' must be a list")
        known = {f.name for f in fields(EpochRecord)}
        records = []
        for i, raw in enumerate(raw_records):
            if not isinstance(raw, dict):
                raise bad(f"record {i} is not an object")
            missing = [f.name for f in fields(EpochRecord) if f.default is f.default_factory is MISSING
                       and f.name not in raw]
            if missing:
                raise bad(f"record {i} lacks {missing[0]!r}")
            for name in PER_CLASS:
                values = raw[name]
                if not isinstance(values, list) or len(values) != num_classes or not all(
                    isinstance(v, (int, float)) or v is None for v in values
                ):
                    raise bad(f"record {i}: {name!r} must list {num_classes} numbers")
            try:
                records.append(EpochRecord(**{k: _restore(k, v) for k, v in raw.items() if k in known}))
            except TypeError as err:
                raise bad(f"record {i}: {err}") from None
        threads, variants = data.get("threads"), data.get("variants") or {}
        if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
            raise bad("'threads' must be a positive integer")
        if not isinstance(variants, dict) or not all(
            isinstance(v, dict) and set(v) <= {"la_tau", "tau_norm"} for v in variants.values()
        ):
            raise bad("'variants' must map names to post-hoc settings (la_tau, tau_norm)")
        return cls(config, counts, groups, names, records, data.get("stopped"), threads, variants)

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "run") -> RunHistory:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            reason = f"{err.msg} at line {err.lineno}" if isinstance(err, json.JSONDecodeError) else "not UTF-8 text"
            raise ProcrustesError(f"{source}: not valid JSON ({reason})") from None
        return cls.from_dict(data, source)

    @classmethod
    def load(cls, path: str | os.PathLike) -> RunHistory:
        path = Path(path)
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            raise ProcrustesError(f"{str(path)!r}: no such file") from None
        except OSError as err:
            raise ProcrustesError(f"{str(path)!r}: cannot be read ({err.strerror or err})") from None
        return cls.from_json(text, repr(str(path)))


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


def _restore(name: str, value: Any) -> Any:
    """Undo ``_finite``: null back to NaN where a number belongs (optional fields stay None)."""
    if name in PER_CLASS or (name == "val_acc" and value is not None):
        return [math.nan if v is None else v for v in value]
    if name == "branch_test_acc" and isinstance(value, dict):
        return {k: [math.nan if v is None else v for v in values] for k, values in value.items()}
    if name in ("accuracy", "balanced_acc", "seconds", "train_loss", "lr") and value is None:
        return math.nan
    return value
