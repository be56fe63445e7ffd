"""Results of a grid of runs: one row per trained point (its settings, seed and last-epoch scores),
and the paired verdict of the best value of a setting against its baseline value on the same seeds.

The sweep command, the app's Sweep page and the benchmarks build their tables and verdicts here, so
a grid's rows and its verdict read the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .compare import PairedComparison, paired_comparison
from .history import RunHistory


def result_row(history: RunHistory, settings: Sequence[str] = (), variant: str | None = None) -> dict[str, Any]:
    """The chosen settings, the seed and the last epoch's overall and group scores of one run (under a
    post-hoc ``variant`` of it if named)."""
    scored = history.variant(variant) if variant is not None else history
    config, last = history.config, scored.last
    row: dict[str, Any] = {name: getattr(config, name) for name in settings}
    row.update({"seed": config.seed, "epochs_done": len(history.records), "stopped": history.stopped})
    if history.warnings:
        row["warnings"] = " | ".join(history.warnings)
    if last is not None:
        row.update({"balanced_acc": last.balanced_acc, "accuracy": last.accuracy, "seconds": last.seconds})
        row.update({f"test_acc_{g}": v for g, v in last.group_test_acc.items()})
        row.update({f"train_acc_{g}": v for g, v in last.group_train_acc.items()})
        row["tail_test_acc"] = last.group_test_acc[history.tail]
    return row


@dataclass(frozen=True)
class GridVerdict:
    """The best value of ``axis`` against its ``baseline`` value, where ``over`` is largest."""

    over: str
    at: float
    best: float
    comparison: PairedComparison

    def sentence(self) -> str:
        return f"At {self.over} {self.at:g}: {self.comparison.sentence()}."


def grid_verdict(rows: Any, value: str = "balanced_acc", axis: str = "mfw_strength", over: str = "ratio",
                 baseline: float = 0.0, names: tuple[str, str] = ("strength", "strength")) -> GridVerdict | None:
    """At the largest ``over`` of the grid, the ``axis`` value with the best mean ``value`` compared
    with the ``baseline`` value on the seeds both trained (paired seed by seed); ``None`` when the grid
    lacks the baseline or another value there. ``rows``: a frame or a list of ``result_row`` dicts."""
    import pandas as pd

    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if frame.empty or not {value, axis, over, "seed"} <= set(frame.columns):
        return None
    at_value = frame[over].max()
    at = frame[frame[over] == at_value]
    base = at[at[axis] == baseline].groupby("seed")[value].mean()
    others = sorted(v for v in at[axis].unique() if v != baseline)
    if base.empty or not others:
        return None
    best = max(others, key=lambda v: at[at[axis] == v][value].mean())
    other = at[at[axis] == best].groupby("seed")[value].mean()
    seeds = [int(s) for s in base.index if s in other.index]
    if not seeds:
        return None
    found = paired_comparison([float(base[s]) for s in seeds], [float(other[s]) for s in seeds], seeds,
                              f"{names[0]} {baseline:g}", f"{names[1]} {best:g}")
    return GridVerdict(over, float(at_value), float(best), found)
