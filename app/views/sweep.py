"""Sweep: imbalance ratio × weakening strength, drawn as the gain over strength 0 (plain training),
with logit adjustment, from a saved grid at once and from a small grid trained live."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from app import runner, state, your_data
from app.components.charts import live_charts
from app.components.live import buttons, cached_spec, live_fragment, status_line
from app.url_state import OPENING
from procrustes_core import ProcrustesError
from procrustes_core.analysis.grid import grid_verdict, result_row
from procrustes_core.figures.runs import sweep_heatmap
from procrustes_core.methods.posthoc import PostHoc
from procrustes_core.names import seed_range
from procrustes_core.sweep import grid_configs

KIND = "sweep"
GRID_FILE = Path(__file__).resolve().parents[2] / "assets" / "sweep_grid.json"
LIVE_RATIOS = [1.0, 10.0, 50.0, 100.0, 200.0]
LIVE_STRENGTHS = [0.0, 0.3, 0.5, 0.7, 0.9]
MAX_LIVE_POINTS = 12
AXES = {"ratio": "imbalance ratio", "mfw_strength": "weakening strength"}
METRIC_NAMES = {"balanced_acc": "balanced test accuracy", "tail_test_acc": "minor-class test accuracy"}


@st.cache_data(show_spinner=False)
def shipped_grid(path: str, stamp: float) -> tuple[pd.DataFrame, dict]:
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    return pd.DataFrame(payload["rows"]), payload


def verdict(frame: pd.DataFrame, value: str) -> str:
    """One line, the same on the saved and the live grid: the best strength's paired gain over strength 0
    (plain training) at the largest ratio of the grid, in points, the method first ("MFW 0.9 + LA vs ERM + LA:
    +1.2 points [−0.3, +2.7], ahead on 3 of 3 seeds — within seed noise")."""
    found = grid_verdict(frame, value)
    if found is None:
        return "Add strength 0 and a positive strength to the grid to see a verdict."
    found.comparison.a, found.comparison.b = "ERM + LA", f"MFW {found.best:g} + LA"
    return (f"At imbalance ratio {found.at:g}, {METRIC_NAMES.get(value, value)}: "
            f"{found.comparison.sentence()}.")


def heatmaps(frame: pd.DataFrame, key: str, live: bool = False) -> None:
    """The two gain heatmaps side by side; ``live`` ones (cells arriving as the grid trains) are updated in
    place, and built again only when a cell arrived."""
    tail = "tail_test_acc" if "tail_test_acc" in frame else "balanced_acc"
    builds = {
        "balanced": lambda: sweep_heatmap(frame, "ratio", "mfw_strength", "balanced_acc", difference=True,
                                          labels=AXES, title="Balanced test accuracy: gain over strength 0 (points)"),
        "minor": lambda: sweep_heatmap(frame, "ratio", "mfw_strength", tail, difference=True, labels=AXES,
                                       zrange=(-30.0, 30.0), title="Minor-class test accuracy: gain over strength 0"),
    }
    if live:
        shown = tuple(map(tuple, frame.itertuples(index=False)))
        live_charts(f"{key}-heatmaps", [(name, cached_spec(f"{key}-{name}", shown, build))
                                        for name, build in builds.items()], columns=2)
        return
    for column, (name, build) in zip(st.columns(2), builds.items()):
        column.plotly_chart(build(), key=f"{key}-{name}", config={"displayModeBar": False})


st.header("Sweep: imbalance ratio × weakening strength")
st.caption("Each cell is the gain of major feature weakening at that strength over plain training (strength 0) "
           "on the same seeds, with post-hoc logit adjustment for both, in points; green cells gain, purple cells "
           "lose. The colour scale is fixed, so cells arriving later are painted on the same scale.")
try:
    frame, payload = shipped_grid(str(GRID_FILE), GRID_FILE.stat().st_mtime)
    st.subheader("Saved grid")
    st.caption(f"{payload.get('description', '')} Mean over seeds {sorted(set(frame['seed']))}.")
    heatmaps(frame, "saved")
    st.markdown(f"**{verdict(frame, 'balanced_acc')}**")
except (OSError, ValueError, KeyError) as err:
    st.warning(f"The saved grid ({GRID_FILE.name}) could not be read: {err}")

st.subheader("Train a small grid live")
st.caption("Uses the sidebar's data, network and epochs; the ratio and strength come from the grid, logit "
           "adjustment (τ = 1) is scored on every trained model.")
config = state.config()
limits = st.session_state.limits
cols = st.columns(4)
cols[0].multiselect("Ratios", LIVE_RATIOS, default=[10.0, 100.0], format_func=lambda v: f"{v:g}", key="sweep_ratios")
cols[1].multiselect("Strengths", LIVE_STRENGTHS, default=[0.0, OPENING.mfw_strength], format_func=lambda v: f"{v:g}",
                    key="sweep_strengths", help="0 is plain training; the story setting's strength "
                    f"({OPENING.mfw_strength:g}) was chosen on validation seeds (benchmarks/results/story_mfw.md).")
cols[2].number_input("Epochs per run", 1, min(50, limits.budget.max_epochs), value=min(30, limits.budget.max_epochs),
                     key="sweep_epochs")
most_seeds = limits.budget.max_seeds
cols[3].number_input("Seeds", 1, most_seeds, value=min(4, most_seeds), key="sweep_seeds")
your_data.natural_ratio_note(config)  # the grid's ratios reshape only a step or long-tailed profile


def start() -> None:
    """Train grid pressed (a callback: it reads the widgets' current values from the session)."""
    base = state.config()
    ratios, strengths = st.session_state.sweep_ratios, st.session_state.sweep_strengths
    points = len(ratios) * len(strengths)
    if not points:
        st.session_state.sweep_problem = "choose at least one ratio and one strength"
        return
    if points > MAX_LIVE_POINTS:
        st.session_state.sweep_problem = f"{points} grid points: at most {MAX_LIVE_POINTS} are trained live"
        return
    try:  # strength 0 with the mfw mixer mixes nothing: the plain-training column of the grid
        configs = grid_configs(base.replace(epochs=int(st.session_state.sweep_epochs), mixer="mfw", la_tau=0.0),
                               {"ratio": ratios, "mfw_strength": strengths})
    except ProcrustesError as err:
        st.session_state.sweep_problem = str(err)
        return
    seeds = seed_range(base.seed, int(st.session_state.sweep_seeds))
    st.session_state.sweep_problem = runner.start(KIND, [(f"ratio {c.ratio:g}, s {c.mfw_strength:g}", c)
                                                         for c in configs], limits, seeds=seeds,
                                                  variants={"LA": PostHoc(la_tau=1.0)})


buttons(KIND, "Train grid", start, config is not None, ("sweep_start", "sweep_stop", "sweep_reset"))


def draw(current) -> None:
    if current is None:
        return
    st.caption(status_line(current))
    for error in {t.error for t in current.job.tasks if t.error}:  # e.g. a diverged point, and why
        st.error(error)
    rows = [result_row(task.history, tuple(AXES), variant="LA") for task in current.job.tasks
            if task.status == "finished" and task.history is not None and task.history.records]
    if rows:
        live = pd.DataFrame(rows)
        if (live["mfw_strength"] == 0).any():
            heatmaps(live, "live", live=True)
            if not current.training:
                st.markdown(f"**{verdict(live, 'balanced_acc')}**")
        else:
            st.info("Strength 0 is the baseline each cell is compared with: add it to the grid.")


live_fragment(KIND, draw)
