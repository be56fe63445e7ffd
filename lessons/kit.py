"""What the lessons share: the lesson settings (the fidelity study's STORY preset, or a tiny size with
PROCRUSTES_FAST=1), the seeds every comparison pairs, knobs built from TrainConfig's declared ranges,
multi-seed training with a visible status line (``train_seeds``), training that keeps each run's
per-sample outputs (``train_with_outputs``), and saved multi-seed results.

Every lesson's settings come from ``procrustes_core.presets.STORY``; its values are read, never copied,
so a change of the preset reaches every lesson.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.config import Choice, Number, field_help, field_rule
from procrustes_core.data.yours import load_your_data  # noqa: F401  (re-exported: a lesson reads your own data)
from procrustes_core.files import atomic_write_bytes
from procrustes_core.presets import STORY

FAST = os.environ.get("PROCRUSTES_FAST", "").strip() not in ("", "0")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SAVED = HERE / "saved"  # saved multi-seed results (lessons/saved/<name>.json.gz)
SAVE_RESULTS = os.environ.get("PROCRUSTES_SAVE_RESULTS", "").strip() not in ("", "0")
REGENERATE = "PROCRUSTES_SAVE_RESULTS=1 python benchmarks/lesson_times.py --size full --lessons {lesson}"

# Every lesson trains the STORY preset plus a balanced validation split to choose settings on (30 per
# class, from training data left over) and one torch thread per run (run_seeds trains a setting's seeds
# stacked in one process, two settings at a time on two cores). The fast size only checks that every cell
# runs: the numbers it prints mean little. The lessons train the preset's own 20,000 samples: its MFW
# setting was chosen there, and at 10,000 samples it was within seed noise of ERM + LA
# (benchmarks/results/story_mfw.md, sections 2 and 3).
LESSON_SETTINGS: dict[str, Any] = dict(STORY, val_per_class=30, threads=1)
FAST_SIZE = dict(n_samples=2_000, width=16, epochs=3)
SIZE = FAST_SIZE if FAST else {k: LESSON_SETTINGS[k] for k in ("n_samples", "width", "epochs")}
SEEDS = [0, 1, 2, 3, 4]  # five paired seeds: the fewest any comparison in the lessons rests on
MORE_SEEDS = list(range(10))  # lesson 11's ten seeds
FRESH_SEEDS = [100, 101, 102, 103, 104]  # for confirming a setting chosen on SEEDS

# Knob ranges narrower than the config allows, so a slider stays usable on a laptop.
KNOB_LIMITS = {"mfw_gamma": (0.1, 4), "epochs": (1, 100), "n_samples": (2_000, 20_000), "width": (8, 128),
               "batch_size": (16, 512), "seed": (0, 20)}
# Settings that span orders of magnitude get a slider over a few round values.
STEPPED_KNOBS = {"ratio": [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
                 "lr": [0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.3],
                 "la_tau": [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0]}


def lesson_config(**changes: Any) -> TrainConfig:
    """The STORY preset (ERM: no mixer) with a validation split; ``changes`` override anything.

    In fast mode the size settings win over ``changes`` so that a test run stays short."""
    settings = {**LESSON_SETTINGS, **changes}
    if FAST:
        settings.update(FAST_SIZE)
    return TrainConfig(**settings)


def describe(config: TrainConfig) -> str:
    """One line: the data, the network and the budget of a lesson's runs."""
    return (f"{config.dataset}, {config.profile} imbalance, ratio {config.ratio:g}, {config.n_samples} generated "
            f"samples; network {config.model} (norm {config.norm}), width {config.width}; {config.epochs} epochs, "
            f"batch {config.batch_size}, SGD lr {config.lr:g} {config.lr_schedule}; validation "
            f"{config.val_per_class} per class" + (" — FAST test size, the numbers mean little" if FAST else ""))


def knob(name: str, value: Any = None, description: str | None = None, options: list | None = None,
         step: float | None = None):
    """An ipywidget for one config field, its range taken from the field's declared rule."""
    import ipywidgets as widgets

    rule = field_rule(name)
    value = getattr(TrainConfig(), name) if value is None else value
    label = description or name
    style = {"description_width": "initial"}
    layout = widgets.Layout(width="420px")
    tooltip = field_help()[name]
    if isinstance(rule, Choice):
        return widgets.Dropdown(options=list(options or rule.options), value=value, description=label,
                                tooltip=tooltip, style=style, layout=layout)
    if not isinstance(rule, Number):
        return widgets.Text(value=str(value), description=label, tooltip=tooltip, style=style, layout=layout)
    lo, hi = KNOB_LIMITS.get(name, (rule.lo, rule.hi))
    lo, hi = max(lo, rule.lo), min(hi, rule.hi)
    if rule.lo_open and lo <= rule.lo:  # the slider must not reach a value the config refuses
        lo = rule.lo + (step or (1 if rule.integer else 0.05))
    if name in STEPPED_KNOBS:
        steps = [float(v) for v in STEPPED_KNOBS[name]]
        if float(value) not in steps:
            steps = sorted([*steps, float(value)])
        return widgets.SelectionSlider(options=steps, value=float(value), description=label, tooltip=tooltip,
                                       style=style, layout=layout)
    if rule.integer:
        return widgets.IntSlider(value=value, min=int(lo), max=int(hi), step=int(step or 1), description=label,
                                 tooltip=tooltip, style=style, layout=layout)
    return widgets.FloatSlider(value=value, min=lo, max=hi, step=step or 0.05, description=label,
                               tooltip=tooltip, style=style, layout=layout)


class Knobs:
    """A column of knobs; ``values()`` gives their settings, ``config()`` a lesson config with them.

    Move a knob, then run the cells below it again; ``live(build)`` draws a cheap figure that redraws
    as soon as a knob moves."""

    def __init__(self, **knobs: Any):
        import ipywidgets as widgets

        self.widgets = {name: w if isinstance(w, widgets.Widget) else knob(name, w) for name, w in knobs.items()}
        self.box = widgets.VBox(list(self.widgets.values()))

    def values(self) -> dict[str, Any]:
        return {name: w.value for name, w in self.widgets.items()}

    def config(self, **extra: Any) -> TrainConfig:
        return lesson_config(**{**self.values(), **extra})

    def observe(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` whenever a knob moves."""
        for w in self.widgets.values():
            w.observe(lambda _change: callback(), names="value")

    def live(self, build: Callable[[], Any]):
        """A figure drawn by ``build()`` that redraws in place whenever a knob moves."""
        from procrustes_core.figures.live import LiveFigure

        view = LiveFigure(build).show()
        self.observe(view.update)
        return view

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)


# ---------------------------------------------------------------- several seeds


def train_seeds(configs: TrainConfig | Mapping[str, TrainConfig], seeds: Sequence[int] = SEEDS,
                variants: Mapping[str, Any] | None = None, saved: str | None = None, use_saved: bool = False):
    """``run_seeds`` (a setting's seeds stacked in one process, two settings at a time) with a status line.

    ``saved``: the name of a saved result (``lessons/saved/<name>.json.gz``). With ``use_saved`` and a
    saved result of exactly these settings, it is loaded instead of trained, and labelled as saved;
    with ``PROCRUSTES_SAVE_RESULTS=1`` the result is saved after training (the command that makes it)."""
    from procrustes_core.figures.live import Status
    from procrustes_core.training.seeds import run_seeds

    named = dict(configs) if isinstance(configs, Mapping) else {"run": configs}
    if saved and use_saved:
        found = load_saved(saved, named, seeds, variants)
        if found is not None:
            return found if isinstance(configs, Mapping) else found["run"]
    status = Status()
    status.show(f"training: {len(named) * len(list(seeds))} runs ({len(named)} settings × {len(list(seeds))} seeds), "
                "each setting's seeds together …")
    result = run_seeds(named, seeds=list(seeds), variants=dict(variants or {}), progress=status.seeds)
    status.seeds(len(named) * len(list(seeds)), len(named) * len(list(seeds)))
    if saved and SAVE_RESULTS:
        path = save_result(saved, result, seeds, variants)
        print(f"saved {path}")
    return result if isinstance(configs, Mapping) else result["run"]


def _key(named: Mapping[str, TrainConfig], seeds: Sequence[int], variants: Mapping[str, Any] | None) -> dict:
    return {"configs": {name: c.to_dict() for name, c in named.items()}, "seeds": [int(s) for s in seeds],
            "variants": {name: {"la_tau": p.la_tau, "tau_norm": p.tau_norm} for name, p in (variants or {}).items()}}


def save_result(name: str, result: Mapping[str, Sequence[Any]], seeds: Sequence[int],
                variants: Mapping[str, Any] | None = None, folder: Path | None = None) -> Path:
    """Write a multi-seed result (name → histories) with the settings it was trained with."""
    folder = folder or SAVED
    folder.mkdir(parents=True, exist_ok=True)
    named = {n: hs[0].config.replace(seed=0) for n, hs in result.items()}
    data = {"key": _key(named, seeds, variants), "fast": FAST,
            "histories": {n: [h.to_dict() for h in hs] for n, hs in result.items()}}
    path = folder / f"{name}{'-fast' if FAST else ''}.json.gz"
    # atomically, and never over a device, FIFO or folder that stands at the path
    return atomic_write_bytes(path, gzip.compress(json.dumps(data).encode("utf-8"), mtime=0), "saved result")


def load_saved(name: str, named: Mapping[str, TrainConfig], seeds: Sequence[int],
               variants: Mapping[str, Any] | None = None, folder: Path | None = None) -> dict | None:
    """A saved result of exactly these settings, seeds and variants, or None (and why, in one line)."""
    from procrustes_core import RunHistory

    folder = folder or SAVED
    path = folder / f"{name}{'-fast' if FAST else ''}.json.gz"
    lesson = name.split("-")[0]
    if not path.exists():
        print(f"no saved result at {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: training now "
              f"(to make one: {REGENERATE.format(lesson=lesson)})")
        return None
    with gzip.open(path, "rt", encoding="utf-8") as source:
        data = json.load(source)
    wanted = _key({n: c.replace(seed=0) for n, c in named.items()}, seeds, variants)
    if data.get("key") != wanted:
        print(f"the saved result {path.name} was made with other settings (the preset may have changed): training "
              f"now (to remake it: {REGENERATE.format(lesson=lesson)})")
        return None
    print(f"SAVED RESULT, not trained now: {path.name}, {len(seeds)} seeds × {len(named)} settings "
          f"(made by: {REGENERATE.format(lesson=lesson)})")
    return {n: [RunHistory.from_dict(h, path.name) for h in hs] for n, hs in data["histories"].items()}


# ---------------------------------------------------------------- runs that keep their outputs


@dataclass
class Outputs:
    """One trained run and what it predicted: raw logits (no post-hoc step) on the training, validation
    and test splits, their labels, the training counts, the classifier's per-class weight norms and
    biases, and the penultimate features of the splits (when asked)."""

    history: Any
    logits: dict[str, Any]
    labels: dict[str, Any]
    counts: list[int]
    head_norms: Any
    head_bias: Any
    features: dict[str, Any] | None = None

    @property
    def seed(self) -> int:
        return self.history.config.seed


def train_with_outputs(configs: Mapping[str, TrainConfig | Callable[[int], TrainConfig]], seeds: Sequence[int] = SEEDS,
                       features: bool | Sequence[str] = False, checkpoints: str | None = None,
                       workers: int = 2) -> dict[str, list[Outputs]]:
    """Train every config on every seed (a config's seeds stacked in one process), keeping each run's
    per-sample outputs (for calibration, precision–recall, classifier norms, feature views). A config may
    be a function of the seed (a fine-tuning run that starts from that seed's checkpoint). ``features``:
    keep the penultimate features (of every config, or of those named). ``checkpoints``: a folder to save
    each run's network in, as ``<folder>/<name>-seed<k>.pt``."""
    from procrustes_core.figures.live import Status
    from procrustes_core.training.executor import run_batch, seed_requests
    from procrustes_core.training.messages import TrainRequest

    made, names = [], []
    for name, config in configs.items():
        for seed in seeds:
            made.append((config(seed) if callable(config) else config).replace(seed=seed))
            names.append(name)

    def request(serial: int, config: TrainConfig, seeds: tuple[int, ...]) -> TrainRequest:
        name = names[serial]
        path = str(Path(checkpoints) / f"{name}-seed{{seed}}.pt") if checkpoints else None
        keep = features if isinstance(features, bool) else name in features
        return TrainRequest(serial, config.to_dict(), seeds, checkpoint=path,
                            observers=("outputs", "split_features") if keep else ("outputs",))

    # a setting's seeds train stacked in one request where its config stacks
    requests, where = seed_requests(made, request, labels=names)
    status = Status()
    status.show(f"training: {len(made)} runs ({len(configs)} settings × {len(seeds)} seeds) …")
    found: dict[tuple[str, int], Outputs] = {}

    def done(request: TrainRequest, outcome) -> None:
        if outcome.error is not None:
            raise ProcrustesError(outcome.error)
        raw = outcome.results["outputs"]
        found[(names[where[(request.serial, outcome.seed)]], outcome.seed)] = Outputs(
            outcome.history, raw["logits"], raw["labels"], raw["counts"], raw["head_norms"], raw["head_bias"],
            outcome.results.get("split_features"))
        status.seeds(len(found), len(made))

    run_batch(requests, done, backend="local", workers=workers)
    return {name: [found[(name, seed)] for seed in seeds] for name in configs}


def scratch_folder(prefix: str = "procrustes-lesson-") -> str:
    """A temporary folder for checkpoints a lesson makes (removed when the machine cleans its temp files)."""
    return tempfile.mkdtemp(prefix=prefix)


# ---------------------------------------------------------------- saved studies of the project


def fidelity_summary(section: str = "## 6.") -> str | None:
    """The part of the fidelity study's saved report (``benchmarks/results/fidelity.md``) that starts at
    ``section``, or None when the study has not been run on this checkout."""
    path = ROOT / "benchmarks" / "results" / "fidelity.md"
    if not path.exists():
        return None
    text = path.read_text()
    start = text.find(section)
    if start < 0:
        return None
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None].strip()


def show_fidelity(section: str = "## 6.") -> None:
    """Show a section of the fidelity study's saved report, labelled as saved, or say it is absent."""
    from IPython.display import Markdown, display

    found = fidelity_summary(section)
    if found is None:
        print("The fidelity study's report (benchmarks/results/fidelity.md) is not on this checkout; it is made by "
              "`python benchmarks/fidelity.py` (several hours on 2 cores). The lesson's own runs above stand alone.")
        return
    display(Markdown("**Saved result, not trained now** — from `benchmarks/results/fidelity.md`, made by "
                     "`python benchmarks/fidelity.py`:\n\n" + found))
