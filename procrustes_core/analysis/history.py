"""A run's record: its config and one EpochRecord per epoch; tidy frames and safe JSON files."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import TrainConfig, parse_json
from ..data.imbalance import head_name, tail_name
from ..errors import ProcrustesError, shown, shown_path
from ..files import atomic_write_text, read_limited
from .runfile import (  # noqa: F401 - the run file's format and limits, re-exported where they were
    FORMAT,
    MAX_NAME,
    MAX_NOTE,
    MAX_RECORDS,
    MAX_RUN_BYTES,
    MAX_THREADS,
    MAX_VARIANTS,
    MAX_WARNINGS,
    RECORD_SCHEMA,
    VARIANT_FIELDS,
    VERSION,
    finite,
    parse_run,
)

PER_CLASS = ("train_acc", "test_acc", "loss", "grad_norm", "precision", "recall", "f1")


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
        return json.dumps(finite(self.to_dict()))

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON atomically: a temporary file in the same folder, then a rename."""
        return atomic_write_text(path, self.to_json(), "out")

    @classmethod
    def from_dict(cls, data: Any, source: str = "run") -> RunHistory:
        """A run from its dict, every field's type and shape checked (``runfile.py``): a bad one
        raises one line naming the first problem, ``'run.json': not a valid Procrustes run (...)``."""
        return parse_run(data, source, cls, EpochRecord)

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "run") -> RunHistory:
        return cls.from_dict(parse_json(text, source), source)

    @classmethod
    def load(cls, path: str | os.PathLike) -> RunHistory:
        source = shown_path(path)
        return cls.from_json(read_limited(path, "run", MAX_RUN_BYTES), source)
