"""Sweep page: balanced and minor-class test accuracy over imbalance ratio × mixing strength."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from app import runner
from app.components.run_view import draw_chart, job_buttons
from procrustes_core import ProcrustesError
from procrustes_core.figures import sweep_heatmap
from procrustes_core.sweep import grid_configs, result_row

KIND = "sweep"
GRID_FILE = Path(__file__).resolve().parents[2] / "assets" / "sweep_grid.json"
LIVE_RATIOS = [1.0, 10.0, 50.0, 100.0, 200.0]
LIVE_STRENGTHS = [0.0, 0.3, 0.5, 0.7, 0.9]
MAX_LIVE_POINTS = 12


@st.cache_data(show_spinner=False)
def shipped_grid(path: str, stamp: float) -> tuple[pd.DataFrame, dict]:
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    return pd.DataFrame(payload["rows"]), payload


def tail_column(frame: pd.DataFrame) -> str:
    return "tail_test_acc" if "tail_test_acc" in frame else "balanced_acc"


def heatmaps(frame: pd.DataFrame, slots) -> None:
    draw_chart(slots[0], sweep_heatmap(frame, "ratio", "mfw_strength", "balanced_acc",
                                       title="Balanced test accuracy"), "sweep_balanced")
    draw_chart(slots[1], sweep_heatmap(frame, "ratio", "mfw_strength", tail_column(frame),
                                       title="Minor-class test accuracy"), "sweep_minor")


st.title("Sweep: imbalance ratio × mixing strength")
st.subheader("Precomputed grid")
try:
    frame, payload = shipped_grid(str(GRID_FILE), GRID_FILE.stat().st_mtime)
    base = payload.get("base", {})
    st.caption(f"{payload.get('description', '')}. Settings: {base.get('dataset')} with {base.get('n_samples')} "
               f"generated samples, width {base.get('width')}, {base.get('epochs')} epochs, MFW schedule "
               f"{base.get('mfw_schedule')}; mean over seeds {sorted(set(frame['seed']))}. Regenerate with "
               f"`{payload.get('command')}`.")
    if "la_tau" in frame and frame["la_tau"].nunique() > 1:
        taus = sorted(frame["la_tau"].unique())
        tau = st.radio("Post-hoc logit adjustment (tau)", taus, index=len(taus) - 1, horizontal=True,
                       format_func=lambda t: "off" if t == 0 else f"tau {t:g}")
        frame = frame[frame["la_tau"] == tau]
    heatmaps(frame, st.columns(2))
except (OSError, ValueError, KeyError) as err:
    st.warning(f"The precomputed grid ({GRID_FILE.name}) could not be read: {err}")

st.subheader("Compute a small grid live")
st.caption("Uses the sidebar's settings for everything else (the ratio and strength come from the grid).")
config = st.session_state.get("config")
limits = st.session_state.limits
cols = st.columns(3)
cols[0].multiselect("Ratios", LIVE_RATIOS, default=[10.0, 100.0], format_func=lambda v: f"{v:g}", key="sweep_ratios")
cols[1].multiselect("Strengths", LIVE_STRENGTHS, default=[0.0, 0.9], format_func=lambda v: f"{v:g}",
                    key="sweep_strengths")
cols[2].number_input("Epochs per run", 1, min(50, limits.max_epochs), value=min(10, limits.max_epochs),
                     key="sweep_epochs")


def start() -> None:
    """Compute grid pressed (a callback: it reads the widgets' current values from the session)."""
    base = st.session_state.get("config")
    ratios, strengths = st.session_state.sweep_ratios, st.session_state.sweep_strengths
    epochs = st.session_state.sweep_epochs
    points = len(ratios) * len(strengths)
    if not points:
        st.session_state.sweep_problem = "choose at least one ratio and one strength"
        return
    if points > MAX_LIVE_POINTS:
        st.session_state.sweep_problem = f"{points} grid points: at most {MAX_LIVE_POINTS} are trained live"
        return
    try:
        # strength 0 with the mfw mixer mixes nothing: the plain-training column of the grid
        configs = grid_configs(base.replace(epochs=int(epochs), mixer="mfw"),
                               {"ratio": ratios, "mfw_strength": strengths})
    except ProcrustesError as err:
        st.session_state.sweep_problem = str(err)
        return
    st.session_state.sweep_problem = runner.start(KIND, [(runner.run_label(c), c) for c in configs], limits,
                                                  sequential=True)


job, training = job_buttons(KIND, "Compute grid", start, config is not None, ("sweep_start", "sweep_stop"))
progress = st.empty()
slots = st.columns(2)
slots = [slots[0].empty(), slots[1].empty()]


def draw(current: runner.Job) -> None:
    done = [r for r in current.runs if r.done and r.history is not None and r.history.records]
    progress.caption(f"{len(done)} of {len(current.runs)} grid points trained"
                     + ("" if current.training else f" ({current.state})"))
    if done:
        rows = pd.DataFrame([result_row(r.history, ["ratio", "mfw_strength"]) for r in done])
        heatmaps(rows, slots)


if job is not None:
    draw(job)
    runner.register_view(KIND, draw)
