"""Run a grid of configs (e.g. ratio × strength × seed) and collect one tidy row per run."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .config import TrainConfig, field_names
from .errors import ProcrustesError
from .history import RunHistory
from .trainer import run


def grid_configs(base: TrainConfig, grid: Mapping[str, Sequence[Any]]) -> list[TrainConfig]:
    """Every combination of the grid's values applied to ``base`` (validated)."""
    for name, values in grid.items():
        if name not in field_names():
            raise ProcrustesError(f"grid setting {name!r}: expected one of {', '.join(field_names())}")
        if not isinstance(values, (list, tuple)) or not values:
            raise ProcrustesError(f"grid {name}={values!r}: expected a non-empty list of values")
    names = list(grid)
    return [base.replace(**dict(zip(names, combo))) for combo in itertools.product(*(grid[n] for n in names))]


def point_id(config: TrainConfig) -> str:
    """A short stable name for a config, used as its history file name when resuming."""
    return hashlib.sha1(config.to_json().encode()).hexdigest()[:12]


def result_row(history: RunHistory, settings: Sequence[str] = ()) -> dict[str, Any]:
    """The chosen settings and the last epoch's overall and group metrics of one run."""
    config, last = history.config, history.last
    row: dict[str, Any] = {name: getattr(config, name) for name in settings}
    row.update({"seed": config.seed, "epochs_done": len(history.records), "stopped": history.stopped})
    if last is not None:
        row.update({"balanced_acc": last.balanced_acc, "accuracy": last.accuracy, "seconds": last.seconds})
        row.update({f"test_acc_{g}": v for g, v in last.group_test_acc.items()})
        row.update({f"train_acc_{g}": v for g, v in last.group_train_acc.items()})
        names = list(history.groups)
        row["tail_test_acc"] = last.group_test_acc[names[-1]]
    return row


def run_sweep(base: TrainConfig, grid: Mapping[str, Sequence[Any]], out_dir: str | Path | None = None,
              progress: Callable[[int, int, RunHistory], None] | None = None):
    """Train every grid point in turn; with ``out_dir`` each history is saved there and points whose
    history already exists are read back instead of trained again (an interrupted sweep resumes)."""
    import pandas as pd

    configs = grid_configs(base, grid)
    folder = Path(out_dir) if out_dir is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, config in enumerate(configs):
        path = folder / f"{point_id(config)}.json" if folder is not None else None
        if path is not None and path.exists():
            history = RunHistory.load(path)
        else:
            history = run(config)
            if path is not None:
                history.save(path)
        rows.append(result_row(history, list(grid)))
        if progress is not None:
            progress(i + 1, len(configs), history)
    return pd.DataFrame(rows)
