"""What the later lessons (12–15) add to the kit: saved results of the project's studies read back as
paired comparisons (the fidelity study's per-seed runs) and any section of a saved report shown,
labelled as saved, with the command that made it."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import procrustes_core
from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.analysis.compare import PairedComparison, paired_comparison

HERE = Path(__file__).resolve().parent
# The checkout that holds the saved results: the lessons' own, or (for a copy of the lessons opened elsewhere, as
# the JupyterLab test does) the one the core is imported from.
ROOT = next((root for root in (HERE.parent, Path(procrustes_core.__file__).resolve().parents[1])
             if (root / "benchmarks" / "results").is_dir()), HERE.parent)
RESULTS = ROOT / "benchmarks" / "results"
FIDELITY_RUNS = RESULTS / "fidelity_runs.jsonl"
# The fidelity study's columns (balanced and minor-class accuracy, on validation and test, with and without LA).
FIDELITY_METRICS = ("val_bal", "val_tail", "val_bal_la", "val_tail_la", "test_bal", "test_tail", "test_bal_la",
                    "test_tail_la")
MADE_BY = {"fidelity": "python benchmarks/fidelity.py", "real_data": "python benchmarks/real_data.py",
           "story_mfw": "python benchmarks/story_mfw.py --jobs 2"}


@lru_cache(maxsize=1)
def _fidelity_rows() -> tuple[tuple[dict, dict, dict], ...]:
    rows = []
    for line in FIDELITY_RUNS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            config, extra = json.loads(row["key"])
            try:
                rows.append((TrainConfig.from_dict(config).to_dict(), extra, row))
            except ProcrustesError:  # a run of the reference script (its own settings), not of the product
                continue
    return tuple(rows)


def fidelity_scores(metric: str = "test_bal_la", extra: dict | None = None, **settings: Any) -> dict[int, float]:
    """One score per seed of the fidelity study's saved runs whose config has every given setting (the
    others at the study's values); runs with another post-training step (``extra``) are left out."""
    if metric not in FIDELITY_METRICS:
        raise ProcrustesError(f"metric={metric!r}: expected one of {', '.join(FIDELITY_METRICS)}")
    if not FIDELITY_RUNS.exists():
        raise ProcrustesError(f"{FIDELITY_RUNS.relative_to(ROOT)} is not on this checkout: it is made by "
                              f"`{MADE_BY['fidelity']}`")
    wanted = TrainConfig.from_dict(dict(settings)).to_dict() if settings else {}
    found: dict[int, float] = {}
    matched: dict[str, dict] = {}  # the distinct settings that match, seed left out
    for config, row_extra, row in _fidelity_rows():
        if row_extra != (extra or {}) or not all(config.get(k) == wanted[k] for k in settings):
            continue
        found[int(config["seed"])] = float(row[metric])
        rest = {k: v for k, v in config.items() if k not in ("seed", "threads", "device", "eval_every")}
        matched[json.dumps(rest, sort_keys=True)] = rest
    if len(matched) > 1:
        first, *others = matched.values()
        differ = sorted({k for other in others for k in first if first[k] != other.get(k)})
        raise ProcrustesError(f"{len(matched)} settings of the fidelity study match {settings}: name "
                              f"{', '.join(differ)} too")
    return found


def fidelity_comparison(a: dict[str, Any], b: dict[str, Any], a_name: str = "ERM + LA", b_name: str = "MFW + LA",
                        metric: str = "test_bal_la", seeds: list[int] | None = None) -> PairedComparison:
    """B against A paired by seed, from the fidelity study's saved runs (not trained now). ``a`` and ``b``
    are settings of TrainConfig (``mixer`` left out means none)."""
    a_scores = fidelity_scores(metric, **{"mixer": "none", **a})
    b_scores = fidelity_scores(metric, **{"mixer": "none", **b})
    shared = sorted(set(a_scores) & set(b_scores) & set(seeds if seeds is not None else a_scores))
    if not shared:
        raise ProcrustesError(f"the fidelity study has no seed with both {a_name} ({a}) and {b_name} ({b})")
    return paired_comparison([a_scores[s] for s in shared], [b_scores[s] for s in shared], shared, a_name, b_name,
                             metric=metric.replace("_", " "))


def saved_section(report: str, heading: str) -> str | None:
    """The part of a saved report (``benchmarks/results/<report>.md``) from the line starting with
    ``heading`` to the next heading of the same level, or None when the report is not on this checkout."""
    path = RESULTS / f"{report}.md"
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    start = text.find(heading)
    if start < 0:
        return None
    level = heading.split(" ", 1)[0]
    end = text.find(f"\n{level} ", start + 1)
    return text[start:end if end > 0 else None].strip()


def show_saved(report: str, heading: str) -> None:
    """Show a section of a saved report, labelled as saved and with the command that made it."""
    from IPython.display import Markdown, display

    made_by = MADE_BY.get(report, f"the script that writes benchmarks/results/{report}.md")
    found = saved_section(report, heading)
    if found is None:
        print(f"benchmarks/results/{report}.md has no section {heading!r} on this checkout; it is made by "
              f"`{made_by}`. The lesson's own runs stand alone.")
        return
    display(Markdown(f"**Saved result, not trained now** — from `benchmarks/results/{report}.md`, made by "
                     f"`{made_by}`:\n\n" + found))


def over_seeds(values: list[float], seeds: list[int], what: str, unit: str = "points") -> PairedComparison:
    """One measurement per seed, as a comparison with zero: its mean, its 95 % interval and on how many
    seeds it was above zero (what ``check_prediction`` grades a prediction against)."""
    return paired_comparison([0.0] * len(values), list(values), list(seeds), "zero", what, metric=what, scale=1.0,
                             unit=unit)


def real_data_comparison(setting: str, a: str = "erm + LA", b: str = "mfw + LA",
                         metric: str = "balanced") -> PairedComparison:
    """B against A paired by seed, from the real-data benchmark's saved scores (not trained now):
    ``setting`` is a heading of ``benchmarks/results/real_data.md`` (``"mnist-5k step-10"``)."""
    path = RESULTS / "real_data.json"
    if not path.exists():
        raise ProcrustesError(f"{path.relative_to(ROOT)} is not on this checkout: it is made by "
                              f"`{MADE_BY['real_data']}`")
    data = json.loads(path.read_text(encoding="utf-8"))
    if setting not in data["story"]:
        raise ProcrustesError(f"setting={setting!r}: expected one of {', '.join(data['story'])}")
    scores = data["story"][setting]["scores"]
    seeds = list(data["seeds"])
    return paired_comparison(scores[a][metric], scores[b][metric], seeds, a.replace("erm", "ERM").replace("mfw", "MFW"),
                             b.replace("erm", "ERM").replace("mfw", "MFW"), metric=f"{metric} test accuracy")


def mean_sentence(measured: PairedComparison, over: str = "seeds") -> str:
    """One line for a measurement made with ``over_seeds``: its mean and 95 % interval over the seeds."""
    mean, lo, hi = measured.interval
    return f"{measured.b}: {mean:+.1f} {measured.unit} [{lo:+.1f}, {hi:+.1f}], the mean over {measured.n} {over}"
