"""Teacher's page (only with ``PROCRUSTES_TEACHER_KEY``): the trainings running and queued on this
server, and the class's results for a preset side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import state
from app.limits import is_teacher_key
from app.service import service

limits = st.session_state.limits
st.header("Teacher's view")
if not is_teacher_key(state.current().teacher_key, limits):  # the link's key was read with the link
    key = st.text_input("Teacher key", type="password", help="The server's PROCRUSTES_TEACHER_KEY.")
    if key and is_teacher_key(key, limits):
        state.current().teacher_key = key
        st.rerun()
    if key:
        st.error("That key is not this server's.")
    st.stop()

trainer = service(limits)


@st.fragment(run_every=2.0)
def overview() -> None:
    views = trainer.jobs()
    active = [v for v in views if v.training]
    st.markdown(f"**{len(active)} active trainings** on {trainer.slots} slots, {trainer.busy_workers()} workers "
                "computing now.")
    rows = []
    for v in active:
        tasks = v.job.tasks
        rows.append({"learner": v.job.owner[:8], "page": v.job.kind, "preset": v.job.tag or "—",
                     "runs": ", ".join(dict.fromkeys(v.job.labels)), "trainings": len(tasks),
                     "status": str(v.status) if v.position is None else f"queued, position {v.position + 1}",
                     "epochs": f"{sum(t.epochs_done for t in tasks)} of {sum(t.config.epochs for t in tasks)}"})
    st.dataframe(pd.DataFrame(rows) if rows else pd.DataFrame({"status": ["nothing is training"]}), hide_index=True)
    finished = pd.DataFrame(trainer.finished_runs())
    st.subheader("The class's results")
    if finished.empty:
        st.info("No finished trainings yet.")
        return
    tags = sorted(finished["tag"].fillna("").unique())
    tag = st.selectbox("Preset", tags, format_func=lambda t: t or "(own settings)", key="teacher_tag")
    chosen = finished[finished["tag"] == tag]
    best = (chosen.sort_values("tail_test_acc", ascending=False).groupby(["owner", "label"], as_index=False)
            .first()[["owner", "label", "seed", "epochs", "balanced_acc", "tail_test_acc"]])
    best["owner"] = best["owner"].str[:8]
    st.dataframe(best.rename(columns={"owner": "learner", "label": "run", "balanced_acc": "balanced accuracy",
                                      "tail_test_acc": "best minor-class test accuracy"})
                 .style.format({"balanced accuracy": "{:.1%}", "best minor-class test accuracy": "{:.1%}"}),
                 hide_index=True)


overview()
