"""How a finished run is shown: class counts, the final results in plain words, downloads."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import streamlit as st

from procrustes_core import ProcrustesError, RunHistory, TrainConfig
from procrustes_core.data.datasets import class_names_for, counts_for, outline
from procrustes_core.data.imbalance import class_groups
from procrustes_core.figures.report import write_html_report
from procrustes_core.figures.runs import class_count_bars, confusion_figure, per_class_table

from ..your_data import learner_text

PERCENT_COLUMNS = ("training accuracy", "precision", "recall (test accuracy)", "F1")


def class_count_chart(config: TrainConfig, key: str = "class_counts") -> None:
    """The training samples per class the settings ask for, drawn before any training: from the data's
    outline, so a link asking for a large dataset generates nothing until Train is priced and pressed."""
    try:
        found = outline(config)
        counts = counts_for(config, found)
    except ProcrustesError as err:
        st.error(learner_text(str(err)))  # your data named by the upload's name, never the server's path
        return
    names = class_names_for(config)  # the dataset's own (your file's), as many as it has
    fig = class_count_bars(counts, names, class_groups(counts), log_y=max(counts) / min(counts) > 20,
                           estimated=not found.exact, height=230, margin=dict(t=40, b=30, l=50, r=10))
    st.plotly_chart(fig, key=key, config={"displayModeBar": False})
    st.caption(f"{sum(counts):,} training samples in {len(counts)} classes".replace(",", " ")
               + ("" if found.exact else " (about: the data are generated when you train)")
               + f"; the test set is balanced: {found.test_per_class:,} samples of each class.".replace(",", " "))
    if found.exact:  # estimated counts could warn of a mini-batch the run will not have
        told = last_batch_note(config, counts, found.input_shape)
        if told:
            st.warning(f"Before you train: {told}.")


def last_batch_note(config: TrainConfig, counts: list[int], input_shape: tuple[int, ...]) -> str | None:
    """The core's warning of a tiny last mini-batch with BatchNorm, for settings not trained yet (None if
    the network cannot be told from the settings alone)."""
    import torch

    from procrustes_core.data.registry import dataset_entry
    from procrustes_core.methods.samplers import build_sampler, has_batchnorm, last_batch_warning
    from procrustes_core.models.nets import build_model

    try:
        entry = dataset_entry(config.dataset)
        if entry.from_path:
            return None
        with torch.device("meta"):  # shapes only: nothing is allocated or drawn
            net = build_model(config.model, input_shape, len(counts), config.width, entry.kind, config.dataset,
                              norm=config.norm, attention=config.attention)
    except ProcrustesError:
        return None
    return last_batch_warning(build_sampler(config.sampler).epoch_size(counts), config.batch_size, has_batchnorm(net))


def sampled(counts: list[int], per_class: int = 40) -> str:
    """How many training samples per class the feature view draws, as it is: 40 of each class that has them,
    all of a smaller one."""
    if min(counts) >= per_class:
        return f"{per_class} training samples per class"
    return f"{per_class} training samples of each class that has them, all {min(counts)} of the smallest"


def formatted_table(history: RunHistory):
    """The per-class table with percentages, as a styled frame."""
    table = per_class_table(history)
    return table.style.format({c: "{:.0%}" for c in PERCENT_COLUMNS}, na_rep="–")


def final_results(history: RunHistory, key: str) -> None:
    """Confusion matrix, per-class table and downloads of a finished (or stopped) run."""
    if not history.records:
        return
    left, right = st.columns([1, 1])
    left.plotly_chart(confusion_figure(history), key=f"{key}_confusion")
    right.markdown("**Per class, last epoch**")
    right.dataframe(formatted_table(history), hide_index=True, key=f"{key}_table")
    downloads(history, key)


SERVER_PATHS = ("data_dir", "data_path", "init_checkpoint", "backbone_weights")  # where the server keeps files


def shareable(history: RunHistory) -> RunHistory:
    """The run as a learner downloads it: a server path in its settings keeps only its file name."""
    found = {k: Path(v).name for k in SERVER_PATHS if isinstance(v := getattr(history.config, k), str)}
    if not found:
        return history
    return dataclasses.replace(history, config=history.config.replace(**found))


def downloads(history: RunHistory, key: str) -> None:
    name = f"procrustes-{history.config.dataset}-{history.config.profile}{history.config.ratio:g}"
    history = shareable(history)
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
