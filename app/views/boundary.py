"""Decision-boundary page: the toy 2-D data, trained with and without MFW side by side."""

from __future__ import annotations

import streamlit as st

from app import runner
from app.components.run_view import draw_chart, job_buttons
from procrustes_core import ProcrustesError
from procrustes_core.config import field_rule
from procrustes_core.figures.boundary import boundary_figure
from procrustes_core.figures.runs import group_curves
from procrustes_core.methods.catalogue import RECOMMENDED_STRENGTH

KIND = "boundary"
N_SAMPLES = 4000

st.title("Decision boundary on 2-D data")
st.caption("Two runs on the same imbalanced toy data and seed: plain training (ERM) and major feature weakening "
           "(MFW). Regions are coloured by the predicted class — major classes blue, minor red; minor-class "
           "training points are the large diamonds. Watch how far the minor regions reach as training goes.")
config = st.session_state.get("config")
limits = st.session_state.limits
cols = st.columns(3)
cols[0].selectbox("Shape", field_rule("toy_shape").options, index=list(field_rule("toy_shape").options).index("spiral"),
                  key="boundary_shape")
cols[1].number_input("Epochs", 1, min(100, limits.max_epochs), value=min(30, limits.max_epochs), key="boundary_epochs")
start_strength = float(config.mfw_strength or RECOMMENDED_STRENGTH) if config else RECOMMENDED_STRENGTH
cols[2].slider("MFW strength", 0.05, 1.0, value=start_strength, step=0.05,
               key="boundary_strength")


def start() -> None:
    """Train both pressed (a callback: it reads the widgets' current values from the session)."""
    base = st.session_state.get("config")
    shape, epochs = st.session_state.boundary_shape, st.session_state.boundary_epochs
    strength = st.session_state.boundary_strength
    profile = base.profile if base.profile != "custom" else "step"
    try:
        toy = base.replace(dataset="toy2d", toy_shape=shape, model="auto", n_samples=N_SAMPLES, profile=profile,
                           counts=None, epochs=int(epochs), mfw_layer="block2", n_max=None, val_per_class=0,
                           mixer="none")
        runs = [("ERM", toy), (f"MFW {strength:g}", toy.replace(mixer="mfw", mfw_strength=strength))]
    except ProcrustesError as err:
        st.session_state.boundary_problem = f"These settings cannot train the toy data: {err}"
        return
    st.session_state.boundary_problem = runner.start(KIND, runs, limits, boundaries=True)


job, training = job_buttons(KIND, "Train both", start, config is not None, ("boundary_start", "boundary_stop"))

if job is not None:
    columns = st.columns(len(job.runs))
    slots = [(c.empty(), c.empty()) for c in columns]
    epoch_pick = None
    longest = max(len(r.grids) for r in job.runs)
    if not job.training and longest > 1:
        epoch_pick = st.slider("Replay: epoch", 1, longest, value=longest, key="boundary_epoch")

    def draw(current: runner.Job) -> None:
        for (figure_slot, curve_slot), run in zip(slots, current.runs):
            if run.error:
                figure_slot.error(run.error)
                continue
            if not run.grids:
                figure_slot.info(f"{run.label}: preparing…")
                continue
            grid = run.grids[min(epoch_pick, len(run.grids)) - 1] if epoch_pick else run.grids[-1]
            data = run.trainer.data
            draw_chart(figure_slot, boundary_figure(grid, data.x_train, data.y_train, data.groups, data.class_names,
                                                    title=f"{run.label}: epoch {grid.epoch}"), "boundary")
            draw_chart(curve_slot, group_curves(run.history), "boundary_groups")

    draw(job)
    runner.register_view(KIND, draw)
