"""How a run is shown: class counts, live per-class curves with phase marks, and the final results."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from procrustes_core import ProcrustesError, RunHistory, TrainConfig, counts_for, load_pool
from procrustes_core.analysis.phases import find_phases
from procrustes_core.data.imbalance import class_groups
from procrustes_core.figures import (
    class_count_bars,
    class_curves,
    confusion_figure,
    gradient_curves,
    loss_curve,
    per_class_table,
    write_html_report,
)

LIVE_CHARTS = ("train_acc", "test_acc", "grad_norm", "loss")


def draw_chart(slot, figure, name: str = "chart") -> None:
    """Put a figure in a placeholder under a key of its own: one script run may redraw the same
    figure (between two epochs of another run), and Streamlit refuses two charts with one ID."""
    seq = st.session_state.get("_chart_seq", 0) + 1
    st.session_state["_chart_seq"] = seq
    slot.plotly_chart(figure, key=f"{name}-{seq}")


def class_count_chart(config: TrainConfig) -> None:
    """The training samples per class the settings ask for (drawn before any training)."""
    try:
        counts = counts_for(config)
        pool = load_pool(config.dataset, config.n_samples, config.toy_shape, config.data_dir, config.download)
    except ProcrustesError as err:
        st.error(str(err))
        return
    fig = class_count_bars(counts, pool.class_names, class_groups(counts), log_y=max(counts) / min(counts) > 20)
    st.plotly_chart(fig, key="class_counts")
    st.caption(f"{sum(counts)} training samples in {len(counts)} classes; the test set is balanced.")


def status_line(history: RunHistory, epochs: int, label: str = "") -> str:
    last = history.last
    if last is None:
        return f"{label}: preparing data and model…" if label else "Preparing data and model…"
    groups = " · ".join(f"{g} {v:.2f}" for g, v in last.group_test_acc.items())
    head = f"**{label}** — " if label else ""
    return (f"{head}epoch {last.epoch}/{epochs} · balanced test accuracy {last.balanced_acc:.3f} · "
            f"test accuracy by group: {groups} · {last.seconds:.1f} s")


def phase_lines(history: RunHistory) -> list[str]:
    """One sentence per phase the core finds (the same marks the curves carry)."""
    lines = []
    for phase in find_phases(history):
        span = (f"epoch {phase.first_epoch}" if phase.first_epoch == phase.last_epoch
                else f"epochs {phase.first_epoch}–{phase.last_epoch}")
        lines.append(f"**{phase.name}** ({span}): {phase.description}.")
    return lines


class LiveCharts:
    """Placeholders for one run's growing curves; ``draw`` refills them from the history."""

    def __init__(self) -> None:
        self.status = st.empty()
        self.progress = st.empty()
        self.phases = st.empty()
        left, right = st.columns(2)
        self.slots = {"train_acc": left.empty(), "test_acc": right.empty()}
        left, right = st.columns(2)
        self.slots.update(grad_norm=left.empty(), loss=right.empty())

    def draw(self, history: RunHistory | None, epochs: int, label: str = "", error: str | None = None) -> None:
        if history is None:
            if error:
                self.status.error(error)
            else:
                self.status.info("Preparing data and model…")
            return
        text = status_line(history, epochs, label)
        if error:
            self.status.error(error)
        elif history.stopped:
            self.status.warning(f"{text} · {history.stopped}")
        else:
            self.status.markdown(text)
        self.progress.progress(min(1.0, len(history.records) / max(epochs, 1)))
        lines = phase_lines(history)
        if lines:
            self.phases.markdown("Phases: " + " ".join(lines))
        if not history.records:
            return
        figures = {
            "train_acc": class_curves(history, "train_acc"),
            "test_acc": class_curves(history, "test_acc"),
            "grad_norm": gradient_curves(history),
            "loss": loss_curve(history),
        }
        for name, fig in figures.items():
            draw_chart(self.slots[name], fig, name)


def final_results(history: RunHistory, key: str) -> None:
    """Confusion matrix, per-class table and downloads of a finished (or stopped) run."""
    if not history.records:
        return
    left, right = st.columns([1, 1])
    left.plotly_chart(confusion_figure(history), key=f"{key}_confusion")
    table = per_class_table(history)
    right.markdown("**Per class, last epoch**")
    right.dataframe(table, hide_index=True, key=f"{key}_table")
    downloads(history, key)


def downloads(history: RunHistory, key: str) -> None:
    name = f"procrustes-{history.config.dataset}-{history.config.profile}{history.config.ratio:g}"
    left, right = st.columns(2)
    # callables: the file is made only when the learner asks for it
    left.download_button("Download run (JSON)", history.to_json, file_name=f"{name}.json",
                         mime="application/json", key=f"{key}_json")
    right.download_button("Download figures (HTML)", lambda: _report_html(history), file_name=f"{name}.html",
                          mime="text/html", key=f"{key}_html")


def _report_html(history: RunHistory) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.html"
        write_html_report(history, path)
        return path.read_text(encoding="utf-8")


def job_buttons(kind: str, label: str, on_start, can_start: bool, keys: tuple[str, str],
                widths: tuple[int, ...] = (1, 1, 3)):
    """A page's Train and Stop buttons for its background job, then the job's last problem in one line.

    Returns the job (or None) and whether it is training now."""
    from app import runner

    job = runner.job(kind)
    training = job is not None and job.training
    cols = st.columns(list(widths))
    cols[0].button(label, type="primary", key=keys[0], on_click=on_start, disabled=not can_start or training)
    cols[1].button("Stop", key=keys[1], disabled=not training, on_click=runner.stop, args=(kind,))
    problem = st.session_state.get(f"{kind}_problem")
    if problem:
        st.error(problem)
    return job, training
