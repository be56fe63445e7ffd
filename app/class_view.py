"""The class as its teacher sees it, from the training service's public record: each learner's mean over
seeds with its interval (never a best seed), the class's pooled paired verdict, a CSV, and how long a
class waits on this server.

    scored_runs(service.jobs(), service.finished_runs())   one row per finished training and post-hoc variant
    learner_table(runs, names, preset)                     each learner's mean and 95 % interval per run
    pooled_verdict(runs, preset, a, b)                     B vs A over every paired seed of the whole class
    class_csv(table)                                       the table as CSV text (safe to open in a spreadsheet)
    capacity(flops, seconds_per_flop, learners, slots)     the expected wait of a class, with its formula
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from procrustes_core import ProcrustesError, RunHistory, TrainConfig
from procrustes_core.analysis.compare import PairedComparison, mean_interval, paired_comparison
from procrustes_core.analysis.seeds import final_score
from procrustes_core.methods.catalogue import METHODS, baseline_of
from procrustes_core.training.jobs import JobView

from .runner import run_label

RUN_COLUMNS = ["owner", "preset", "run", "seed", "pair", "balanced_acc", "tail_test_acc", "tail"]
MAX_SCORED = 50_000  # finished trainings whose rows are kept between refreshes of the teacher's page
_scored: dict[tuple[str, int], list[dict[str, Any]]] = {}
SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a cell starting so is run as a formula by spreadsheets


def _rows(owner: str, preset: str, history: RunHistory, pair: str) -> list[dict[str, Any]]:
    """A finished training's row, and one per post-hoc variant scored on the same trained model."""
    scored = [history] + [history.variant(name) for name in history.variants]
    return [{"owner": owner, "preset": preset, "run": run_label(h.config), "seed": h.config.seed, "pair": pair,
             "balanced_acc": final_score(h), "tail_test_acc": final_score(h, "test_acc", h.tail), "tail": h.tail}
            for h in scored]


def pair_key(config: TrainConfig) -> str:
    """What a run trained on — its data, network, optimisation and seed, every method and method knob off —
    so that runs of two methods on the same data and seed pair."""
    default = TrainConfig()
    knobs = {key: getattr(default, key) for m in METHODS.values() if not (m.kind == "network" and not m.corrects_prior)
             for key in m.params if hasattr(default, key)}
    return baseline_of(config).replace(**knobs).to_query()


def scored_runs(views: Sequence[JobView], finished: Sequence[Mapping[str, Any]] = ()) -> pd.DataFrame:
    """One row per training that ran all its epochs, and per post-hoc variant scored on it: who trained it
    (``owner``), under which preset, the run's method (``run``, e.g. "MFW 0.9 + LA 1"), the seed, and its
    final balanced and tail-group test accuracy. ``pair`` names the data, network and seed it trained on
    (its ERM baseline's settings), so runs of two methods pair seed by seed. Trainings the service no longer
    holds in full come from its summaries (``finished``): their own run only, with no pair."""
    rows: list[dict[str, Any]] = []
    held: set[tuple] = set()
    for view in views:
        for task in view.job.tasks:
            history = task.history
            if history is None or not history.finished:
                continue
            held.add((view.job.owner, view.job.tag, task.label, task.seed))
            key = (view.job.id, task.serial)
            found = _scored.get(key)  # a finished training's scores never change: scored once, not every refresh
            if found is None:
                found = _rows(view.job.owner, view.job.tag, history, pair_key(history.config))
                if len(_scored) >= MAX_SCORED:
                    _scored.clear()
                _scored[key] = found
            rows += found
    for summary in finished:
        key = (summary.get("owner"), summary.get("tag"), summary.get("label"), summary.get("seed"))
        if summary.get("status") != "finished" or key in held:
            continue
        rows.append({"owner": key[0], "preset": key[1] or "", "run": key[2], "seed": key[3], "pair": None,
                     "balanced_acc": summary.get("balanced_acc"), "tail_test_acc": summary.get("tail_test_acc"),
                     "tail": summary.get("tail") or "minor"})
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def learner_name(owner: str, names: Mapping[str, str]) -> str:
    """The name a learner typed, or a short stand-in for a learner who typed none."""
    return names.get(owner) or f"(no name) {owner[:6]}"


def _percent_interval(values: Sequence[float]) -> tuple[float, float, float]:
    mean, lo, hi = mean_interval([float(v) for v in values])
    return 100 * mean, 100 * lo, 100 * hi


def learner_table(runs: pd.DataFrame, names: Mapping[str, str], preset: str) -> pd.DataFrame:
    """Each learner's result per run under ``preset``: the MEAN over their seeds with its 95 % t-interval
    (NaN on one seed), in percent — every seed counts, the best one is never picked. A seed trained twice on
    the same settings is one training (training is deterministic): its scores are averaged first. Two learners
    who typed the same name are told apart by the start of their browser's id."""
    chosen = runs[runs["preset"] == preset]
    typed = {owner: learner_name(owner, names) for owner in chosen["owner"].unique()}
    taken = pd.Series(list(typed.values())).value_counts()
    shown = {owner: name if taken[name] == 1 else f"{name} · {owner[:4]}" for owner, name in typed.items()}
    rows = []
    for (owner, run), group in chosen.groupby(["owner", "run"], sort=False):
        per_seed = group.groupby(group["pair"].fillna(group["seed"].astype(str)), sort=True).agg(
            seed=("seed", "first"), balanced=("balanced_acc", "mean"), tail=("tail_test_acc", "mean"))
        balanced, tail = _percent_interval(per_seed["balanced"]), _percent_interval(per_seed["tail"])
        rows.append({"learner": shown[owner], "run": run, "seeds": len(per_seed),
                     "seed list": " ".join(str(s) for s in sorted(per_seed["seed"])),
                     "balanced accuracy (%)": balanced[0], "balanced low (%)": balanced[1],
                     "balanced high (%)": balanced[2], "tail group": group["tail"].iloc[0],
                     "tail test accuracy (%)": tail[0], "tail low (%)": tail[1], "tail high (%)": tail[2]})
    table = pd.DataFrame(rows)
    return table.sort_values(["learner", "run"], kind="stable", ignore_index=True) if rows else table


def interval_text(lo: float, hi: float) -> str:
    """A 95 % interval as a table cell shows it."""
    return "one seed: no interval" if math.isnan(lo) else f"[{lo:.1f}, {hi:.1f}]"


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """The learner table as the page shows it: each mean with its interval in one column."""
    if table.empty:
        return table
    groups = table["tail group"].unique()
    tail = f"{groups[0]}-class" if len(groups) == 1 else "tail-group"
    return pd.DataFrame({
        "learner": table["learner"], "run": table["run"], "seeds": table["seeds"],
        "balanced accuracy, mean (%)": table["balanced accuracy (%)"].round(1),
        "95 % interval": [interval_text(lo, hi) for lo, hi in zip(table["balanced low (%)"],
                                                                    table["balanced high (%)"])],
        f"{tail} test accuracy, mean (%)": table["tail test accuracy (%)"].round(1),
        "95 % interval ": [interval_text(lo, hi) for lo, hi in zip(table["tail low (%)"], table["tail high (%)"])],
    })


def class_csv(table: pd.DataFrame) -> str:
    """The learner table as CSV text; a typed name that a spreadsheet would run as a formula is quoted."""
    safe = table.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = [f"'{v}" if isinstance(v, str) and v.startswith(SPREADSHEET_FORMULA) else v
                            for v in safe[column]]
    return safe.to_csv(index=False, float_format="%.2f")


def run_choices(runs: pd.DataFrame, preset: str) -> list[str]:
    """The runs of ``preset`` that can pair with another (trained with a known data setting and seed)."""
    chosen = runs[(runs["preset"] == preset) & runs["pair"].notna()]
    return sorted(chosen["run"].unique())


def default_pair(choices: Sequence[str]) -> tuple[str | None, str | None]:
    """The verdict a class looks for first: MFW + LA against ERM + LA (else without LA), where trained."""
    def first(start: str) -> str | None:
        return next((c for c in choices if c.startswith(start) and "+ LA" in c),
                    next((c for c in choices if c.startswith(start)), None))

    return first("ERM"), first("MFW")


def pooled_verdict(runs: pd.DataFrame, preset: str, a: str, b: str) -> PairedComparison:
    """B vs A pooled over the whole class: one pair per data setting and seed on which someone trained A and
    someone (the same learner or another) trained B. The same seed of the same setting trained by several
    learners is one training, so it counts once. One ProcrustesError line when nothing pairs."""
    chosen = runs[(runs["preset"] == preset) & runs["pair"].notna()]
    a_by_pair = chosen[chosen["run"] == a].groupby("pair")["balanced_acc"].mean()
    b_by_pair = chosen[chosen["run"] == b].groupby("pair")["balanced_acc"].mean()
    common = sorted(set(a_by_pair.index) & set(b_by_pair.index))
    if not common:
        raise ProcrustesError(f"no seed of the class was trained with both {a} and {b} on the same data yet: "
                              "nothing to pair")
    return paired_comparison([a_by_pair[p] for p in common], [b_by_pair[p] for p in common],
                             list(range(len(common))), a=a, b=b)


def duration(seconds: float) -> str:
    """A wait as a teacher reads it: seconds, minutes or hours."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True)
class Capacity:
    """How long a class waits when every learner presses Train at once: ``learners`` requests, each of
    ``flops`` (one request of the preset on its seeds, as the budget prices it), on ``slots`` slots that
    each take ``seconds_per_flop``."""

    learners: int
    seeds: int
    slots: int
    flops: float
    seconds_per_flop: float
    measured: bool  # the seconds per FLOP measured on this server's finished trainings (else assumed)

    @property
    def one_request_s(self) -> float:
        """One learner's request alone on a free slot."""
        return self.flops * self.seconds_per_flop

    @property
    def everyone_s(self) -> float:
        """When the last learner's run ends: the class's work spread over the slots (never less than one
        request alone)."""
        return max(self.one_request_s, self.learners * self.flops * self.seconds_per_flop / self.slots)

    @property
    def average_s(self) -> float:
        """When the average learner's run ends: slots are shared in turn, so halfway between the first
        runs' end and the last's."""
        return (self.everyone_s + self.one_request_s) / 2

    def formula(self) -> str:
        """The figure and how it is computed, in words."""
        source = ("measured on this server's finished trainings" if self.measured
                  else "not measured yet on this server: assumed until a training finishes")
        return (f"{self.learners} learners × {self.flops / 1e12:.3g} TFLOP per request ({self.seeds} seeds of the "
                f"preset, as the budget prices it) × {self.seconds_per_flop:.3g} s per FLOP ({source}) ÷ "
                f"{self.slots} slots = {duration(self.everyone_s)}: when everyone presses Train at once, the last "
                f"run ends then (never sooner than one request alone, {duration(self.one_request_s)}). Slots are "
                f"shared in turn, so the average learner's run ends after about half way between the two: "
                f"{duration(self.average_s)}.")


def capacity(flops: float, seconds_per_flop: float | None, learners: int, slots: int, seeds: int,
             assumed_flops_per_second: float) -> Capacity:
    """The expected wait of ``learners`` requests of ``flops`` each on ``slots`` slots (``seconds_per_flop``
    as measured, or None: one over ``assumed_flops_per_second``)."""
    if learners < 1 or slots < 1:
        raise ProcrustesError(f"learners={learners}, slots={slots}: expected at least one of each")
    measured = seconds_per_flop is not None and seconds_per_flop > 0
    rate = seconds_per_flop if measured else 1 / assumed_flops_per_second
    return Capacity(learners, seeds, slots, float(flops), float(rate), measured)
