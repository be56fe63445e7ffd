"""What the lessons share: the lesson size (full, or fast with PROCRUSTES_FAST=1) and widget knobs
built from the declared ranges of TrainConfig's fields."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from procrustes_core import TrainConfig
from procrustes_core.config import Choice, Number, field_help, field_rule

FAST = os.environ.get("PROCRUSTES_FAST", "").strip() not in ("", "0")

# The full size finishes each lesson in under a minute on 2 CPU cores; the fast size only checks
# that every cell runs (the numbers it prints mean little). One torch thread: these small models
# gain little from a second one, and on a busy laptop (browser, kernel, other programs) two threads
# fighting for two cores made an epoch several times slower in our measurements.
FULL_SIZE = dict(n_samples=12_000, width=32, epochs=30, batch_size=64, threads=1)
FAST_SIZE = dict(n_samples=2_000, width=16, epochs=3, batch_size=64, threads=1)
SIZE = FAST_SIZE if FAST else FULL_SIZE

# Knob ranges narrower than the config allows, so a slider stays usable on a laptop.
KNOB_LIMITS = {"mfw_gamma": (0.1, 4), "epochs": (1, 100), "n_samples": (2_000, 20_000), "width": (8, 128),
               "batch_size": (16, 512), "seed": (0, 20)}
# Settings that span orders of magnitude get a slider over a few round values.
STEPPED_KNOBS = {"ratio": [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
                 "lr": [0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.3],
                 "la_tau": [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0]}


def lesson_config(**changes: Any) -> TrainConfig:
    """MNIST-1D, step imbalance of ratio 50, at the lesson size; ``changes`` override anything.

    In fast mode the size settings win over ``changes`` so that a test run stays short."""
    settings = dict(dataset="mnist1d", profile="step", ratio=50.0, **SIZE)
    settings.update(changes)
    if FAST:
        settings.update(FAST_SIZE)
    return TrainConfig(**settings)


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

    Move a knob, then run the cells below it again; ``observe`` redraws cheap figures at once."""

    def __init__(self, **knobs: Any):
        import ipywidgets as widgets

        self.widgets = {name: w if isinstance(w, widgets.Widget) else knob(name, w) for name, w in knobs.items()}
        self.box = widgets.VBox(list(self.widgets.values()))

    def values(self) -> dict[str, Any]:
        return {name: w.value for name, w in self.widgets.items()}

    def config(self, **extra: Any) -> TrainConfig:
        return lesson_config(**{**self.values(), **extra})

    def observe(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` whenever a knob moves (used to redraw cheap figures at once)."""
        for w in self.widgets.values():
            w.observe(lambda _change: callback(), names="value")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)
