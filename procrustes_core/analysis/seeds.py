"""Several seeds of one setting: the mean curve with a band, the mean run, and paired comparisons.

    band(histories, "test_acc", group="minor")   epochs, mean, lower, upper over the seeds
    mean_history(histories)                      one RunHistory whose numbers are the seed means
    compare_runs_paired(erm, mfw, ...)           the core's paired comparison of final scores

A band is the 95 % t-interval of the mean over seeds (``kind="interval"``) or the spread, the
smallest to the largest seed (``kind="spread"``); every chart says which.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..errors import ProcrustesError
from .compare import PairedComparison, mean_interval, paired_comparison
from .history import PER_CLASS, EpochRecord, RunHistory
from .metrics import group_means

BAND_KINDS = {"interval": "95 % interval of the mean over seeds", "spread": "range over seeds (lowest to highest)"}


def _value(record: EpochRecord, metric: str, group: str | None, groups: dict[str, list[int]]) -> float:
    value = getattr(record, metric)
    if group is None:
        return float(value) if not isinstance(value, list) else float(np.mean(value))
    return group_means(value, groups)[group]


def common_epochs(histories: Sequence[RunHistory]) -> list[int]:
    """The epochs every history has a record of (seeds trained at the same pace share them all)."""
    sets = [{r.epoch for r in h.records} for h in histories if h.records]
    return sorted(set.intersection(*sets)) if sets and len(sets) == len(histories) else []


def band(histories: Sequence[RunHistory], metric: str, group: str | None = None,
         kind: str = "interval") -> tuple[list[int], list[float], list[float], list[float]]:
    """Per epoch: the mean over seeds of a metric (a per-class one averaged over ``group``), and the band."""
    if kind not in BAND_KINDS:
        raise ProcrustesError(f"band={kind!r}: expected one of {', '.join(BAND_KINDS)}")
    epochs = common_epochs(histories)
    means, lows, highs = [], [], []
    for epoch in epochs:
        values = [_value(next(r for r in h.records if r.epoch == epoch), metric, group, h.groups) for h in histories]
        if kind == "spread" or len(values) < 2:
            mean, low, high = float(np.mean(values)), float(min(values)), float(max(values))
        else:
            mean, low, high = mean_interval(values)
        means.append(mean)
        lows.append(low)
        highs.append(high)
    return epochs, means, lows, highs


def mean_history(histories: Sequence[RunHistory]) -> RunHistory:
    """One history whose per-class and overall numbers are the means over the seeds, epoch by epoch
    (so the phases and the narrator read several seeds as one run)."""
    if not histories:
        raise ProcrustesError("mean over seeds: no run given")
    first = histories[0]
    if len(histories) == 1:
        return first
    records = []
    for epoch in common_epochs(histories):
        found = [next(r for r in h.records if r.epoch == epoch) for h in histories]
        changes = {name: np.mean([getattr(r, name) for r in found], axis=0).tolist() for name in PER_CLASS}
        for name in ("accuracy", "balanced_acc", "train_loss", "seconds", "lr"):
            changes[name] = float(np.mean([getattr(r, name) for r in found]))
        for name in ("val_acc", "val_balanced_acc", "bbn_alpha"):  # optional: a mean where every seed has one
            values = [getattr(r, name) for r in found]
            changes[name] = None if any(v is None for v in values) else np.mean(values, axis=0).tolist()
        changes["group_train_acc"] = group_means(changes["train_acc"], first.groups)
        changes["group_test_acc"] = group_means(changes["test_acc"], first.groups)
        records.append(dataclasses.replace(found[0], **changes, confusion=None, variants={}, branch_test_acc=None,
                                           loss_weights=None))
    stopped = next((h.stopped for h in histories if h.stopped), None)  # the mean is unfinished if any seed is
    return RunHistory(first.config, first.counts, first.groups, first.class_names, records, stopped,
                      first.threads)


def final_score(history: RunHistory, metric: str = "balanced_acc", group: str | None = None,
                variant: str | None = None) -> float:
    """The last record's score (of a post-hoc variant, when named)."""
    scored = history.variant(variant) if variant else history
    if scored.last is None:
        raise ProcrustesError("a run without any finished epoch has no score")
    return _value(scored.last, metric, group, scored.groups)


def compare_runs_paired(a: Sequence[RunHistory], b: Sequence[RunHistory], a_name: str = "A", b_name: str = "B",
                        metric: str = "balanced_acc", group: str | None = None, a_variant: str | None = None,
                        b_variant: str | None = None) -> PairedComparison:
    """B against A on the seeds both have finished (matched by the configs' seeds), on final scores: a
    stopped or diverged run is left out with its pair, never scored at the epoch where it ended."""
    by_seed_a = {h.config.seed: h for h in a if h.finished}
    by_seed_b = {h.config.seed: h for h in b if h.finished}
    seeds = [s for s in by_seed_a if s in by_seed_b]
    if not seeds:
        raise ProcrustesError(f"{a_name} and {b_name} share no finished seed: nothing to pair")
    label = metric.replace("_", " ") + (f" of the {group} classes" if group else "")
    return paired_comparison([final_score(by_seed_a[s], metric, group, a_variant) for s in seeds],
                             [final_score(by_seed_b[s], metric, group, b_variant) for s in seeds], seeds,
                             a_name, b_name, metric=label)
