"""Playground page: set the imbalance and the method, press Train, watch every class learn."""

from __future__ import annotations

import streamlit as st

from app import runner
from app.components.run_view import LiveCharts, class_count_chart, final_results

KIND = "playground"

st.title("Procrustes playground")
st.caption("Train a small network on imbalanced data and watch each class: major classes in blue, minor "
           "classes in red (dashed). Method after *Procrustean Training for Imbalanced Deep Learning* "
           "(arXiv 2104.01769), in our own formulation.")
if st.session_state.get("link_message"):
    st.warning(st.session_state.link_message)

config = st.session_state.get("config")
limits = st.session_state.limits


def start() -> None:
    """Train pressed (a callback: the job exists before the page is drawn, so Stop is live at once)."""
    current = st.session_state.get("config")
    st.session_state.link_message = None
    st.session_state.playground_problem = runner.start(KIND, [(runner.run_label(current), current)], limits)


top_left, top_right = st.columns([3, 2])
with top_left:
    if config is not None:
        class_count_chart(config)
with top_right:
    if config is not None:
        st.markdown(f"**Settings:** {runner.run_label(config)}, {config.epochs} epochs, model {config.model}")
    job = runner.job(KIND)
    training = job is not None and job.training
    buttons = st.columns(3)
    buttons[0].button("Train", type="primary", key="train", width="stretch", on_click=start,
                      disabled=config is None or training)
    buttons[1].button("Stop", key="stop", width="stretch", disabled=not training, on_click=runner.stop, args=(KIND,))
    buttons[2].button("Reset", key="reset", width="stretch", disabled=job is None, on_click=runner.reset,
                      args=(KIND,))
    if st.session_state.get("playground_problem"):
        st.error(st.session_state.playground_problem)
    st.caption("Training accuracy is measured on the un-mixed training set; the feature gradient is "
               "‖∂loss/∂h‖ at the penultimate features, averaged over each class's samples. Shaded spans mark "
               "the under-fit and over-fit phases of the minor classes.")

job = runner.job(KIND)
if job is not None:
    run = job.runs[0]
    live = LiveCharts()
    live.draw(run.history, run.config.epochs, label=run.label, error=run.error)
    runner.register_view(KIND, lambda j: live.draw(j.runs[0].history, j.runs[0].config.epochs, label=j.runs[0].label,
                                                   error=j.runs[0].error))
    if not job.training and run.history is not None:
        st.subheader("Results of the last epoch")
        final_results(run.history, key="playground")
else:
    st.info("Press **Train** to start. Change the ratio to see the class counts change; the run's settings are "
            "in the address bar, so the link reproduces this experiment.")
