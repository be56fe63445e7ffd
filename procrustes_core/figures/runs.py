"""Figures of runs: per-class curves, gradients, loss, class counts, confusion, run comparison and
sweep heatmaps — Plotly builders over run histories, shared by the app, the lessons and the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.history import RunHistory
from ..analysis.phases import find_phases
from ..data.imbalance import class_groups, tail_name

# Head groups in blues, tail groups in reds, the middle in greens: minor classes stand out.
GROUP_PALETTES = {
    "all": ["#4c78a8", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac", "#f58518",
            "#e45756"],
    "major": ["#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6", "#9ecae1"],
    "many": ["#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6", "#9ecae1"],
    "medium": ["#00441b", "#006d2c", "#238b45", "#41ab5d", "#74c476"],
    "minor": ["#67000d", "#a50f15", "#cb181d", "#ef3b2c", "#fb6a4a", "#fc9272"],
    "few": ["#67000d", "#a50f15", "#cb181d", "#ef3b2c", "#fb6a4a", "#fc9272"],
}
GROUP_PALETTES.update({"top third": GROUP_PALETTES["many"], "middle third": GROUP_PALETTES["medium"],
                       "bottom third": GROUP_PALETTES["few"]})
METRIC_TITLES = {
    "train_acc": "Training accuracy (un-mixed training set)",
    "test_acc": "Test accuracy",
    "grad_norm": "Feature-gradient norm ‖∂ℓ/∂h‖",
    "loss": "Training loss per class",
    "precision": "Test precision",
    "recall": "Test recall",
    "f1": "Test F1",
    "balanced_acc": "Balanced test accuracy",
    "accuracy": "Test accuracy (overall)",
}
PHASE_COLORS = {"under-fit": "rgba(239,59,44,0.10)", "over-fit": "rgba(128,0,128,0.08)"}


def class_colors(groups: Mapping[str, Sequence[int]], num_classes: int) -> list[str]:
    """A colour per class: shades of blue for major classes, red for minor, green in between."""
    colors = ["#888888"] * num_classes
    for name, members in groups.items():
        palette = GROUP_PALETTES.get(name, GROUP_PALETTES["all"])
        for i, c in enumerate(members):
            colors[c] = palette[i % len(palette)]
    return colors


def group_of(groups: Mapping[str, Sequence[int]]) -> dict[int, str]:
    return {c: g for g, members in groups.items() for c in members}


def class_count_bars(counts: Sequence[int], class_names: Sequence[str] | None = None,
                     groups: Mapping[str, Sequence[int]] | None = None, log_y: bool = False) -> go.Figure:
    """Training samples per class, coloured by group."""
    groups = groups or class_groups(list(counts))
    names = list(class_names or [str(c) for c in range(len(counts))])
    class_group = group_of(groups)
    fig = go.Figure(go.Bar(
        x=names, y=list(counts), marker_color=class_colors(groups, len(counts)),
        text=[str(c) for c in counts], textposition="outside",
        customdata=[class_group.get(c, "") for c in range(len(counts))],
        hovertemplate="class %{x} (%{customdata}): %{y} training samples<extra></extra>",
    ))
    fig.update_layout(title="Training samples per class", xaxis_title="class", yaxis_title="samples",
                      margin=dict(t=50, b=40, l=50, r=20), height=320)
    fig.update_xaxes(type="category")
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def _add_phases(fig: go.Figure, history: RunHistory) -> None:
    for phase in find_phases(history):
        fig.add_vrect(x0=phase.first_epoch - 0.5, x1=phase.last_epoch + 0.5,
                      fillcolor=PHASE_COLORS.get(phase.name, "rgba(0,0,0,0.05)"), line_width=0,
                      annotation_text=phase.name, annotation_position="top left", layer="below")


def class_curves(history: RunHistory, metric: str = "train_acc", log_y: bool | None = None,
                 show_phases: bool = True, title: str | None = None) -> go.Figure:
    """One line per class of a per-class metric over epochs; minor classes in red, dashed."""
    colors = class_colors(history.groups, history.num_classes)
    class_group = group_of(history.groups)
    tail = tail_name(history.groups) if len(history.groups) > 1 else None
    epochs = [r.epoch for r in history.records]
    fig = go.Figure()
    for c in range(history.num_classes):
        group = class_group.get(c, "")
        fig.add_trace(go.Scatter(
            x=epochs, y=[getattr(r, metric)[c] for r in history.records], mode="lines+markers",
            name=f"{history.class_names[c]} ({group}, n={history.counts[c]})", legendgroup=group,
            line=dict(color=colors[c], dash="dash" if group == tail else "solid", width=2),
            marker=dict(size=4),
        ))
    if show_phases:
        _add_phases(fig, history)
    log_y = metric == "grad_norm" if log_y is None else log_y
    fig.update_layout(title=title or METRIC_TITLES.get(metric, metric), xaxis_title="epoch",
                      yaxis_title=metric, height=380, margin=dict(t=50, b=40, l=50, r=20),
                      legend=dict(font=dict(size=10)))
    if log_y:
        fig.update_yaxes(type="log")
    elif metric.endswith("acc") or metric in ("precision", "recall", "f1"):
        fig.update_yaxes(range=[-0.02, 1.02])
    return fig


def gradient_curves(history: RunHistory) -> go.Figure:
    """Per-class feature-gradient norms over epochs (log scale)."""
    return class_curves(history, "grad_norm", log_y=True)


def group_curves(history: RunHistory, metrics: Sequence[str] = ("train_acc", "test_acc")) -> go.Figure:
    """Group means (major / minor or many / medium / few) of per-class metrics over epochs."""
    epochs = [r.epoch for r in history.records]
    palette = {g: GROUP_PALETTES.get(g, GROUP_PALETTES["all"])[1] for g in history.groups}
    fig = go.Figure()
    for metric, dash in zip(metrics, ("solid", "dash", "dot")):
        for group, values in history.group_series(metric).items():
            fig.add_trace(go.Scatter(x=epochs, y=values, mode="lines", name=f"{group} {metric}",
                                     line=dict(color=palette[group], dash=dash, width=3)))
    _add_phases(fig, history)
    fig.update_layout(title="Group means", xaxis_title="epoch", height=360, margin=dict(t=50, b=40, l=50, r=20))
    return fig


def branch_curves(history: RunHistory) -> go.Figure:
    """A BBN run's hand-over: each branch's test accuracy alone, by group (solid: conventional,
    dashed: re-balancing), and the conventional branch's weight α on a second axis."""
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    records = [r for r in history.records if r.branch_test_acc]
    epochs = [r.epoch for r in records]
    palette = {g: GROUP_PALETTES.get(g, GROUP_PALETTES["all"])[1] for g in history.groups}
    for (branch, by_group), dash in zip(history.branch_group_series().items(), ("solid", "dash")):
        for group, values in by_group.items():
            fig.add_trace(go.Scatter(x=epochs, y=values, mode="lines+markers", name=f"{branch} branch, {group}",
                                     line=dict(color=palette[group], dash=dash, width=2)), secondary_y=False)
    fig.add_trace(go.Scatter(x=epochs, y=[r.bbn_alpha for r in records], mode="lines", name="α (conventional weight)",
                             line=dict(color="#555555", width=1, dash="dot")), secondary_y=True)
    fig.update_layout(title="BBN: each branch alone on the test set, and α", height=380,
                      margin=dict(t=50, b=40, l=50, r=50), xaxis_title="epoch")
    fig.update_yaxes(title_text="test accuracy", range=[0, 1.02], secondary_y=False)
    fig.update_yaxes(title_text="α", range=[0, 1.02], secondary_y=True)
    return fig


def loss_curve(history: RunHistory) -> go.Figure:
    """The training objective per epoch and the mean un-mixed training loss of each group."""
    epochs = [r.epoch for r in history.records]
    fig = go.Figure(go.Scatter(x=epochs, y=history.series("train_loss"), mode="lines+markers",
                               name="training objective", line=dict(color="black", width=3)))
    palette = {g: GROUP_PALETTES.get(g, GROUP_PALETTES["all"])[1] for g in history.groups}
    for group, values in history.group_series("loss").items():
        fig.add_trace(go.Scatter(x=epochs, y=values, mode="lines", name=f"{group} classes (un-mixed)",
                                 line=dict(color=palette[group], dash="dash")))
    fig.update_layout(title="Loss", xaxis_title="epoch", yaxis_title="cross-entropy", height=340,
                      margin=dict(t=50, b=40, l=50, r=20))
    fig.update_yaxes(type="log")
    return fig


def confusion_figure(history: RunHistory, normalize: bool = True) -> go.Figure:
    """Test confusion matrix of the latest epoch that has one (rows: true class)."""
    record = next((r for r in reversed(history.records) if r.confusion is not None), None)
    if record is None:
        return go.Figure().update_layout(title="No confusion matrix recorded yet")
    matrix = np.asarray(record.confusion, dtype=float)
    shown = matrix / np.maximum(matrix.sum(1, keepdims=True), 1) if normalize else matrix
    names = list(history.class_names)
    fig = go.Figure(go.Heatmap(
        z=shown, x=names, y=names, colorscale="Blues", zmin=0, zmax=1 if normalize else None,
        text=matrix.astype(int), texttemplate="%{text}",
        hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>",
    ))
    fig.update_layout(title=f"Test confusion matrix (epoch {record.epoch})", xaxis_title="predicted",
                      yaxis_title="true", height=420, margin=dict(t=50, b=40, l=50, r=20))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return fig


def per_class_table(history: RunHistory):
    """Precision, recall, F1 and support of the latest epoch as a pandas table."""
    import pandas as pd

    record = history.last
    class_group = group_of(history.groups)
    support = [None] * history.num_classes
    if record is not None and record.confusion is not None:
        support = np.asarray(record.confusion).sum(1).tolist()
    return pd.DataFrame({
        "class": history.class_names, "group": [class_group.get(c, "") for c in range(history.num_classes)],
        "training samples": history.counts, "train acc": record.train_acc if record else None,
        "precision": record.precision if record else None, "recall": record.recall if record else None,
        "f1": record.f1 if record else None, "test support": support,
    })


def compare_runs(histories: Mapping[str, RunHistory], metric: str = "balanced_acc") -> go.Figure:
    """Several runs over epochs: an overall metric, or a group's mean (e.g. ``test_acc:minor``)."""
    fig = go.Figure()
    for i, (name, history) in enumerate(histories.items()):
        epochs = [r.epoch for r in history.records]
        if ":" in metric:
            per_class, group = metric.split(":", 1)
            by_group = history.group_series(per_class)
            values = by_group.get(group) or list(by_group.values())[-1]
        else:
            values = history.series(metric)
        color = GROUP_PALETTES["all"][i % len(GROUP_PALETTES["all"])]
        fig.add_trace(go.Scatter(x=epochs, y=values, mode="lines+markers", name=name,
                                 line=dict(color=color, width=2), marker=dict(size=4)))
    base, _, group = metric.partition(":")
    title = METRIC_TITLES.get(base, base) + (f" — {group} classes" if group else "")
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title=metric, height=380,
                      margin=dict(t=50, b=40, l=50, r=20))
    return fig


def sweep_heatmap(frame, x: str = "ratio", y: str = "mfw_strength", value: str = "balanced_acc",
                  title: str | None = None) -> go.Figure:
    """Mean of ``value`` over a grid of two settings (a pandas frame with one row per run)."""
    table = frame.groupby([y, x])[value].mean().unstack(x).sort_index()
    fig = go.Figure(go.Heatmap(
        z=table.values, x=[f"{v:g}" for v in table.columns], y=[f"{v:g}" for v in table.index],
        colorscale="Viridis", text=np.round(table.values, 3), texttemplate="%{text}",
        hovertemplate=f"{x} %{{x}}, {y} %{{y}}: %{{z:.3f}}<extra></extra>",
    ))
    fig.update_layout(title=title or f"{METRIC_TITLES.get(value, value)} over {x} × {y}", xaxis_title=x,
                      yaxis_title=y, height=420, margin=dict(t=50, b=40, l=60, r=20))
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig


