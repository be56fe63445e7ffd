"""Compare: two settings on the same seeds, and whether their difference is beyond seed noise; this
browser's runs and uploaded run files overlaid."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from app import runner, state
from app.components.charts import live_charts
from app.components.live import buttons, cached_spec, live_fragment, status_line
from app.uploads import read_uploads
from procrustes_core import ProcrustesError, RunHistory
from procrustes_core.analysis.narrator import Statement, narrate
from procrustes_core.analysis.seeds import compare_runs_paired, mean_history
from procrustes_core.figures.runs import compare_bands, compare_runs, paired_figure
from procrustes_core.methods.catalogue import METHODS, baseline_of
from procrustes_core.methods.posthoc import PostHoc
from procrustes_core.names import seed_range

KIND = "compare"
MAX_UPLOAD_BYTES = 20_000_000
SAVED = Path(__file__).resolve().parents[2] / "assets" / "fidelity.json"
CHOICES = ["ERM", *[name for name, m in METHODS.items() if m.kind in ("mixer", "loss", "sampler")
                    and name not in ("ce", "instance", "none")]]

st.header("Compare: is the difference beyond seed noise?")
st.caption("Two settings trained on the same seeds — the same data subsets, initial weights and batch orders — "
           "so each seed gives one paired difference. Post-hoc logit adjustment (LA) is scored on the same trained "
           "models: A and B are trained once per seed.")
config = state.config()
limits = st.session_state.limits


def setting(base, choice: str):
    """The sidebar's data and model with one method chosen (ERM: plain training, no post-hoc step)."""
    plain = baseline_of(base)
    return plain if choice == "ERM" else plain.with_methods(choice)


def shown_name(choice: str) -> str:
    """A method as verdicts name it: ERM, MFW, focal, ..."""
    return {"mfw": "MFW", "erm": "ERM"}.get(choice, choice)


cols = st.columns([1, 1, 1, 1])
cols[0].selectbox("A", CHOICES, index=0, key="compare_a", format_func=shown_name, help="The baseline.")
cols[1].selectbox("B", CHOICES, index=CHOICES.index("mfw"), key="compare_b", format_func=shown_name,
                  help="The method tested against A.")
most_seeds = max(2, limits.budget.max_seeds)  # a pairing needs two; a cap of 1 refuses it in one line on Train
cols[2].number_input("Seeds", 2, most_seeds, value=min(8, most_seeds), key="compare_seeds",
                     help="Each seed is one pair of runs; the interval narrows as seeds are added.")
tau = float((config.la_tau if config else 0) or 1.0)
cols[3].number_input("LA τ", 0.0, max(3.0, tau), value=tau, step=0.25,
                     key="compare_tau", help="Post-hoc logit adjustment scored on the same models.")


def pair() -> None:
    """Train pressed: A and B on the same seeds, each also scored with logit adjustment."""
    base = state.config()
    a, b = st.session_state.compare_a, st.session_state.compare_b
    try:
        names = (shown_name(a), shown_name(b)) if a != b else (f"A: {shown_name(a)}", f"B: {shown_name(b)}")
        runs = [(names[0], setting(base, a)), (names[1], setting(base, b))]
    except ProcrustesError as err:
        st.session_state.compare_problem = f"These settings cannot be compared this way: {err}"
        return
    seeds = seed_range(base.seed, int(st.session_state.compare_seeds))
    st.session_state.compare_problem = runner.start(KIND, runs, limits, seeds=seeds,
                                                    variants={"LA": PostHoc(la_tau=st.session_state.compare_tau)})


buttons(KIND, "Train A and B on the same seeds", pair, config is not None, ("train_trio", "stop_trio", "reset_pair"))


def series_of(view) -> tuple[dict, dict, dict]:
    """Curves per setting and post-hoc variant: {name: histories}, {name: method}, {name: variant}."""
    series, methods, variants = {}, {}, {}
    for run in view.job.runs():
        ready = [t.history for t in run if t.history is not None]
        if not ready:
            continue
        label = run[0].label
        series[label], methods[label], variants[label] = ready, label, ""
        for name in ready[0].variants:
            series[f"{label} + {name}"] = [h.variant(name) for h in ready]
            methods[f"{label} + {name}"], variants[f"{label} + {name}"] = label, name
    return series, methods, variants


def draw(current) -> None:
    if current is None:
        st.info("Press the button: A and B train on the same seeds, side by side.")
        return
    st.caption(status_line(current))
    for error in {t.error for t in current.job.tasks if t.error}:
        st.error(error)
    series, methods, variants = series_of(current)
    if not series:
        return
    tail = next(h[0].tail for h in series.values() if h and h[0].records) if any(
        h and h[0].records for h in series.values()) else "minor"
    shown = tuple((t.serial, len(t.history.records)) for t in current.job.tasks if t.history is not None)
    live_charts("compare-live", [
        (name, cached_spec(f"compare-{name}", shown, lambda metric=metric: compare_bands(series, metric, methods,
                                                                                          variants)))
        for name, metric in (("balanced", "balanced_acc"), ("tail", f"test_acc:{tail}"))], columns=2)


live_fragment(KIND, draw)


def verdicts(view) -> None:
    runs = view.job.runs()
    if len(runs) < 2:
        return
    a_runs = [t.history for t in runs[0] if t.history is not None and t.history.records]
    b_runs = [t.history for t in runs[1] if t.history is not None and t.history.records]
    if not a_runs or not b_runs:
        return
    a, b = runs[0][0].label, runs[1][0].label
    tail = a_runs[0].tail
    st.subheader("The verdict, seed by seed")
    tabs = st.tabs(["with logit adjustment", "without", f"{tail}-class test accuracy (with LA)"])
    cases = [(dict(a_variant="LA", b_variant="LA"), f"{a} + LA", f"{b} + LA", None),
             (dict(), a, b, None), (dict(a_variant="LA", b_variant="LA"), f"{a} + LA", f"{b} + LA", tail)]
    for tab, (options, a_name, b_name, group) in zip(tabs, cases):
        with tab:
            try:
                found = compare_runs_paired(a_runs, b_runs, a_name, b_name,
                                            metric="test_acc" if group else "balanced_acc", group=group, **options)
            except ProcrustesError as err:
                st.warning(str(err))
                continue
            st.markdown(f"**{found.sentence()}.**")
            st.plotly_chart(paired_figure(found), key=f"paired-{a_name}-{group}", config={"displayModeBar": False})
            st.dataframe(verdict_table(found), hide_index=True)
    said = weakening_story(a_runs, b_runs)
    if said:
        st.subheader("What MFW did on these seeds")
        st.markdown("  \n".join(f"• {s.text}" for s in said))  # unnumbered: these charts carry no marks


WEAKENING_KINDS = ("weakening", "mfw-effect", "test-above-train")


def weakening_story(a_runs: list[RunHistory], b_runs: list[RunHistory]) -> list[Statement]:
    """The narrator on the MFW side's mean over seeds, set against the plain side's (``baseline=``) when
    one side weakens features and the other trains plainly: its gradients and training gap with and without."""
    sides = [(a_runs, b_runs), (b_runs, a_runs)]
    for plain, weakened in sides:
        if weakened[0].config.mixer == "mfw" and plain[0].config.mixer == "none":
            said = narrate(mean_history(weakened), seeds=len(weakened), baseline=mean_history(plain))
            return [s for s in said if s.kind in WEAKENING_KINDS]
    return []


def percent(score: float | None) -> float | None:
    """A 0–1 score as the pages show scores: a percentage with one decimal (differences are in points)."""
    return None if score is None else round(score * 100, 1)


def verdict_table(found) -> pd.DataFrame:
    """Each seed's scores and difference, all in one unit: B's column first, as the sentence reads."""
    return pd.DataFrame([{"seed": row["seed"], f"{found.b} (%)": percent(row[found.b]),
                          f"{found.a} (%)": percent(row[found.a]),
                          f"{found.b} − {found.a} (points)": round(row["difference"], 1)} for row in found.rows()])


view = runner.view(KIND, limits)
if view is not None and not view.training:
    verdicts(view)


@st.cache_data(show_spinner=False)
def saved_results(path: str, stamp: float) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


if SAVED.exists():
    with st.expander("Saved results on more seeds (the fidelity study)", expanded=False):
        try:
            saved = saved_results(str(SAVED), SAVED.stat().st_mtime)
            st.caption(saved.get("caption", ""))
            st.dataframe(pd.DataFrame(saved.get("rows", [])), hide_index=True)
        except (OSError, ValueError, KeyError) as err:
            st.warning(f"The saved results ({SAVED.name}) could not be read: {err}")

st.subheader("Your runs and saved run files")
uploads = st.file_uploader(f"Add saved runs (JSON, up to {MAX_UPLOAD_BYTES // 1_000_000} MB each, "
                           f"{limits.max_uploads} files)", type=["json"], accept_multiple_files=True, key="uploads")
uploaded: list[tuple[str, RunHistory]] = []
for upload in read_uploads(uploads, RunHistory.from_json, st.session_state.setdefault("_run_uploads", {}),
                           max_files=limits.max_uploads, max_total_bytes=limits.max_upload_mb * 1_000_000,
                           max_file_bytes=MAX_UPLOAD_BYTES):
    if upload.ok:
        uploaded.append((upload.name, upload.value))
    else:
        st.text(upload.error)  # a file's text is shown as plain text, never as markdown

available = dict(runner.session_runs(limits))
available.update({f"{name} (file)": history for name, history in uploaded})
if not available:
    st.info("No finished runs yet: train one on the Playground or above, or add a saved run file.")
else:
    names = list(available)
    chosen = st.multiselect("Runs to overlay", names, default=names[-4:], key="compare_chosen")
    histories = {name: available[name] for name in chosen}
    if histories:
        tails = [h.tail for h in histories.values()]
        left, right = st.columns(2)
        left.plotly_chart(compare_runs(histories, "balanced_acc"), key="overlay-balanced")
        right.plotly_chart(compare_runs(histories, f"test_acc:{tails[-1]}"), key="overlay-tail")
        rows = [{"run": name, "epochs": len(h.records),
                 "balanced accuracy (%)": percent(h.last.balanced_acc) if h.last else None,
                 f"{h.tail}-class test accuracy (%)": percent(h.last.group_test_acc.get(h.tail)) if h.last else None,
                 "ended early": h.stopped or ""}  # a diverged run says so, and why
                for name, h in histories.items()]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    if st.button("Forget this browser's runs", key="forget_runs"):
        from app import store

        store.clear(limits.store_folder)
        st.rerun()
