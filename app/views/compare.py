"""Compare page: runs of this session and uploaded run files, overlaid on the same axes."""

from __future__ import annotations

import streamlit as st

from app import runner
from app.components.run_view import LiveCharts, draw_chart, final_results, job_buttons
from procrustes_core import ProcrustesError, RunHistory
from procrustes_core.figures.runs import compare_runs
from procrustes_core.methods.posthoc import PostHoc
from procrustes_core.sweep import result_row

KIND = "compare"
MAX_UPLOAD_BYTES = 20_000_000

st.title("Compare runs")
st.caption("Every run trained in this session is listed here; add saved runs (JSON files from a Download button "
           "or `procrustes train --out`). Runs on the same data and seed differ only by method.")
config = st.session_state.get("config")
limits = st.session_state.limits


def pair() -> None:
    """ERM and MFW on the current data and seed — two trainings, each also scored with post-hoc logit
    adjustment (the same trained model, so ± LA costs no second training)."""
    base = st.session_state.get("config")
    tau = base.la_tau or 1.0
    try:
        plain = base.replace(mixer="none", la_tau=0.0)
        configs = [plain, plain.replace(mixer="mfw")]
    except ProcrustesError as err:
        st.session_state.compare_problem = f"These settings cannot be compared this way: {err}"
        return
    st.session_state.compare_problem = runner.start(KIND, [(runner.run_label(c), c) for c in configs], limits,
                                                    variants={"LA": PostHoc(la_tau=tau)})


job, training = job_buttons(KIND, "Train ERM vs MFW (each ± logit adjustment) on these settings", pair,
                            config is not None, ("train_trio", "stop_trio"), widths=(2, 1, 1))

uploads = st.file_uploader("Add saved runs (JSON)", type=["json"], accept_multiple_files=True, key="uploads")
uploaded: list[tuple[str, RunHistory]] = []
for upload in uploads or []:
    try:
        if upload.size > MAX_UPLOAD_BYTES:
            raise ProcrustesError(f"{upload.name}: {upload.size} bytes, more than a run file holds")
        uploaded.append((f"{upload.name}", RunHistory.from_json(upload.getvalue(), upload.name)))
    except ProcrustesError as err:
        st.error(str(err))



def training_runs(current: runner.Job | None) -> dict[str, RunHistory]:
    if current is None or not current.training:
        return {}
    found = {}
    for r in current.runs:
        if r.history is not None:
            found[f"{r.label} (training)"] = r.history
            found.update({f"{runner.run_label(r.history.variant(n).config)} (training)": r.history.variant(n)
                          for n in r.history.variants})
    return found


available = dict(runner.session_runs())
available.update({f"{name} (file)": history for name, history in uploaded})
names = list(available)
if not names and not training:
    st.info("No runs yet: train one on the Playground, press the button above, or add a saved run.")
    st.stop()
chosen = st.multiselect("Runs to compare", names, default=names[-4:])
histories = {name: available[name] for name in chosen}
metric_options = ["balanced_acc", "accuracy"]
groups: list[str] = []
for history in [*histories.values(), *training_runs(job).values()]:
    groups += [g for g in history.groups if g not in groups]
metric_options += [f"test_acc:{g}" for g in groups] + [f"train_acc:{g}" for g in groups] + \
    [f"grad_norm:{g}" for g in groups]
left, right = st.columns(2)
first = left.selectbox("Left chart", metric_options, index=0)
tail = f"test_acc:{groups[-1]}" if groups else "accuracy"
second = right.selectbox("Right chart", metric_options, index=metric_options.index(tail))
charts = st.columns(2)
slots = [charts[0].empty(), charts[1].empty()]
table = st.empty()


def draw(histories: dict[str, RunHistory]) -> None:
    shown = {n: h for n, h in histories.items() if h.records}
    if not shown:
        return
    draw_chart(slots[0], compare_runs(shown, first), "compare_left")
    draw_chart(slots[1], compare_runs(shown, second), "compare_right")
    import pandas as pd

    table.dataframe(pd.DataFrame([{"run": n, **result_row(h)} for n, h in shown.items()]), hide_index=True)


draw({**histories, **training_runs(job)})


def redraw(current: runner.Job) -> None:
    draw({**histories, **training_runs(current)})


runner.register_view(KIND, redraw)

if histories:
    st.subheader("One run in full")
    name = st.selectbox("Run", list(histories))
    history = histories[name]
    view = LiveCharts()
    view.draw(history, history.config.epochs)
    if history.records:
        final_results(history, key="compare_detail_view")
