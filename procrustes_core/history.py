"""A run's record: its config and one EpochRecord per epoch; tidy frames and safe JSON files."""

from __future__ import annotations

import json
import math
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .config import TrainConfig
from .errors import ProcrustesError
from .files import atomic_write_text
from .metrics import group_means

FORMAT = "procrustes-run"
VERSION = 1
PER_CLASS = ("train_acc", "test_acc", "loss", "grad_norm", "precision", "recall", "f1")


@dataclass
class EpochRecord:
    """What one epoch of training left behind (per-class lists are indexed by class)."""

    epoch: int
    train_acc: list[float]  # on the un-mixed training set, eval mode
    test_acc: list[float]  # recall on the balanced test set (post-hoc adjustment applied if set)
    loss: list[float]  # mean cross-entropy per class on the un-mixed training set
    grad_norm: list[float]  # mean ‖∂ℓ_i/∂h_i‖ over the class's training samples, h = penultimate features
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
    class_weights: list[float] | None = None  # per-class loss weights used in this epoch (None: all equal)

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
            row = {"epoch": r.epoch, "accuracy": r.accuracy, "balanced_acc": r.balanced_acc,
                   "train_loss": r.train_loss, "lr": r.lr, "mfw_strength": r.mfw_strength, "seconds": r.seconds}
            row.update({f"train_acc_{g}": v for g, v in r.group_train_acc.items()})
            row.update({f"test_acc_{g}": v for g, v in r.group_test_acc.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "version": VERSION, "config": self.config.to_dict(), "counts": list(self.counts),
            "groups": self.groups, "class_names": list(self.class_names), "stopped": self.stopped,
            "records": [r.to_dict() for r in self.records],
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
        if data.get("version") != VERSION:
            raise bad(f"version {data.get('version')!r}, expected {VERSION}")
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
        return cls(config, counts, groups, names, records, data.get("stopped"))

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
    if name in ("accuracy", "balanced_acc", "seconds", "train_loss", "lr") and value is None:
        return math.nan
    return value
