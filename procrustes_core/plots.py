"""Plotly figure builders over run histories, shared by the app, the lessons and the CLI report."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from .files import atomic_write_text
from .history import RunHistory
from .imbalance import class_groups
from .phases import find_phases

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


def _group_of(groups: Mapping[str, Sequence[int]]) -> dict[int, str]:
    return {c: g for g, members in groups.items() for c in members}


def class_count_bars(counts: Sequence[int], class_names: Sequence[str] | None = None,
                     groups: Mapping[str, Sequence[int]] | None = None, log_y: bool = False) -> go.Figure:
    """Training samples per class, coloured by group."""
    groups = groups or class_groups(list(counts))
    names = list(class_names or [str(c) for c in range(len(counts))])
    group_of = _group_of(groups)
    fig = go.Figure(go.Bar(
        x=names, y=list(counts), marker_color=class_colors(groups, len(counts)),
        text=[str(c) for c in counts], textposition="outside",
        customdata=[group_of.get(c, "") for c in range(len(counts))],
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
    group_of = _group_of(history.groups)
    tail = list(history.groups)[-1] if len(history.groups) > 1 else None
    epochs = [r.epoch for r in history.records]
    fig = go.Figure()
    for c in range(history.num_classes):
        group = group_of.get(c, "")
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
    group_of = _group_of(history.groups)
    support = [None] * history.num_classes
    if record is not None and record.confusion is not None:
        support = np.asarray(record.confusion).sum(1).tolist()
    return pd.DataFrame({
        "class": history.class_names, "group": [group_of.get(c, "") for c in range(history.num_classes)],
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


def report_figures(history: RunHistory) -> dict[str, go.Figure]:
    """Every figure of one run, by name."""
    return {
        "class counts": class_count_bars(history.counts, history.class_names, history.groups),
        "training accuracy": class_curves(history, "train_acc"),
        "test accuracy": class_curves(history, "test_acc"),
        "feature gradients": gradient_curves(history),
        "loss": loss_curve(history),
        "confusion matrix": confusion_figure(history),
    }


def write_figures_html(figures: Mapping[str, go.Figure], path: str | os.PathLike, title: str,
                       intro: str = "") -> Path:
    """One self-contained HTML page holding several figures (written atomically)."""
    parts = [f"<h1>{html.escape(title)}</h1>", intro]
    for i, (name, fig) in enumerate(figures.items()):
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
            + "\n".join(parts) + "</body></html>")
    return atomic_write_text(path, page, "html")


def write_html_report(history: RunHistory, path: str | os.PathLike) -> Path:
    """Every figure of one run in one self-contained HTML page (written atomically)."""
    last = history.last
    summary = "no epochs recorded" if last is None else (
        f"{len(history.records)} epochs; balanced test accuracy {last.balanced_acc:.3f}; "
        + ", ".join(f"{g} {v:.3f}" for g, v in last.group_test_acc.items()))
    config = history.config
    title = (f"Procrustes run: {config.dataset}, {config.profile} ratio {config.ratio:g}, "
             f"MFW strength {config.mfw_strength:g}")
    intro = f"<p>{html.escape(summary)}</p><pre>{html.escape(config.to_json())}</pre>"
    return write_figures_html(report_figures(history), path, title, intro)


# ---------------------------------------------------------------- figures of the lessons
# Pictures of data, of the mixing step and of small result tables, used by the Jupyter lessons.


def _group_palette(groups: Mapping[str, Sequence[int]]) -> dict[str, str]:
    return {g: GROUP_PALETTES.get(g, GROUP_PALETTES["all"])[1] for g in groups}


def signal_examples(x, y, class_names: Sequence[str], groups: Mapping[str, Sequence[int]] | None = None,
                    per_class: int = 2) -> go.Figure:
    """A few 1-D signals (MNIST-1D) of every class, one small panel per class."""
    from plotly.subplots import make_subplots

    x, y = np.asarray(x), np.asarray(y)
    signals = x.reshape(len(x), -1)
    num_classes = len(class_names)
    groups = groups or {"all": list(range(num_classes))}
    colors = class_colors(groups, num_classes)
    group_of = _group_of(groups)
    cols = min(5, num_classes)
    rows = -(-num_classes // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"class {n} ({group_of.get(c, '')})"
                                                               for c, n in enumerate(class_names)])
    for c in range(num_classes):
        for k, i in enumerate(np.flatnonzero(y == c)[:per_class]):
            fig.add_trace(go.Scatter(y=signals[i], mode="lines", line=dict(color=colors[c], width=1.5),
                                     opacity=1.0 if k == 0 else 0.5, showlegend=False,
                                     hovertemplate=f"class {class_names[c]}<extra></extra>"),
                          row=c // cols + 1, col=c % cols + 1)
    fig.update_layout(title="Example signals per class", height=180 * rows + 60,
                      margin=dict(t=70, b=30, l=30, r=20))
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return fig


def class_weight_bars(weights: Sequence[float], class_names: Sequence[str],
                      groups: Mapping[str, Sequence[int]] | None = None,
                      title: str = "MFW class weights w_c") -> go.Figure:
    """The weakening weight of every class (1: weakened most, 0: never)."""
    groups = groups or {"all": list(range(len(weights)))}
    fig = go.Figure(go.Bar(x=list(class_names), y=[float(w) for w in weights],
                           marker_color=class_colors(groups, len(weights)),
                           text=[f"{w:.2f}" for w in weights], textposition="outside"))
    fig.update_layout(title=title, xaxis_title="class", yaxis_title="w_c", height=300,
                      margin=dict(t=50, b=40, l=50, r=20))
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[0, 1.15])
    return fig


def mixing_coefficients(lam, labels, groups: Mapping[str, Sequence[int]]) -> go.Figure:
    """Histogram of the per-sample mixing coefficient λ in one batch, by group."""
    lam, labels = np.asarray(lam, dtype=float), np.asarray(labels)
    palette = _group_palette(groups)
    fig = go.Figure()
    for group, members in groups.items():
        chosen = lam[np.isin(labels, members)]
        fig.add_trace(go.Histogram(x=chosen, name=f"{group} ({len(chosen)} samples)", opacity=0.7,
                                   marker_color=palette[group], xbins=dict(start=0, end=1.0001, size=0.05)))
    fig.update_layout(title="Mixing coefficient λ per sample (1 = not mixed)", barmode="overlay",
                      xaxis_title="λ", yaxis_title="samples", height=320, margin=dict(t=50, b=40, l=50, r=20))
    return fig


def signal_mix(x, mixed, labels, lam, partner, indices: Sequence[int], class_names: Sequence[str]) -> go.Figure:
    """Signals before and after mixing: the sample, its partner and the mix the network sees."""
    from plotly.subplots import make_subplots

    x, mixed = np.asarray(x).reshape(len(x), -1), np.asarray(mixed).reshape(len(mixed), -1)
    labels, lam, partner = np.asarray(labels), np.asarray(lam, dtype=float), np.asarray(partner)
    titles = [f"label {class_names[labels[i]]}, λ = {lam[i]:.2f} (partner: {class_names[labels[partner[i]]]})"
              for i in indices]
    fig = make_subplots(rows=len(indices), cols=1, subplot_titles=titles, vertical_spacing=0.08)
    for row, i in enumerate(indices, start=1):
        first = row == 1
        fig.add_trace(go.Scatter(y=x[i], mode="lines", name="sample", line=dict(color="#08519c", width=2),
                                 showlegend=first, legendgroup="sample"), row=row, col=1)
        fig.add_trace(go.Scatter(y=x[partner[i]], mode="lines", name="partner", showlegend=first,
                                 legendgroup="partner", line=dict(color="#999999", width=1, dash="dot")),
                      row=row, col=1)
        fig.add_trace(go.Scatter(y=mixed[i], mode="lines", name="after mixing (label kept)", showlegend=first,
                                 legendgroup="mixed", line=dict(color="#cb181d", width=2, dash="dash")),
                      row=row, col=1)
    fig.update_layout(title="A mini-batch before and after major feature weakening", height=200 * len(indices) + 80,
                      margin=dict(t=80, b=30, l=40, r=20))
    return fig


def toy_mix(points, mixed, labels, groups: Mapping[str, Sequence[int]], class_names: Sequence[str]) -> go.Figure:
    """2-D points of a batch and where mixing moves them (a line from each point to its mix)."""
    points, mixed, labels = np.asarray(points), np.asarray(mixed), np.asarray(labels)
    colors = class_colors(groups, len(class_names))
    group_of = _group_of(groups)
    fig = go.Figure()
    moved = np.flatnonzero(np.abs(points - mixed).sum(1) > 1e-6)
    if len(moved):
        xs, ys = [], []
        for i in moved:
            xs += [points[i, 0], mixed[i, 0], None]
            ys += [points[i, 1], mixed[i, 1], None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#bbbbbb", width=1),
                                 name="moved by mixing", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=mixed[moved, 0], y=mixed[moved, 1], mode="markers", name="after mixing",
                                 marker=dict(symbol="x", size=7, color=[colors[c] for c in labels[moved]])))
    for c, name in enumerate(class_names):
        chosen = labels == c
        if chosen.any():
            fig.add_trace(go.Scatter(x=points[chosen, 0], y=points[chosen, 1], mode="markers",
                                     name=f"{name} ({group_of.get(c, '')})",
                                     marker=dict(size=7, color=colors[c], line=dict(width=0.5, color="white"))))
    fig.update_layout(title="2-D points before (dots) and after (crosses) weakening; labels are kept",
                      height=460, margin=dict(t=50, b=40, l=50, r=20), xaxis_title="x₁", yaxis_title="x₂")
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def gradient_vs_confidence(p_true, grad_norm, labels, groups: Mapping[str, Sequence[int]]) -> go.Figure:
    """Per-sample feature-gradient norm against the probability given to the true class."""
    p_true, grad_norm, labels = np.asarray(p_true), np.asarray(grad_norm), np.asarray(labels)
    palette = _group_palette(groups)
    fig = go.Figure()
    for group, members in groups.items():
        chosen = np.isin(labels, members)
        fig.add_trace(go.Scatter(x=p_true[chosen], y=grad_norm[chosen], mode="markers", name=group,
                                 marker=dict(color=palette[group], size=5, opacity=0.6)))
    fig.update_layout(title="Feature-gradient norm vs. probability of the true class (training samples)",
                      xaxis_title="p_y (softmax probability of the true class)", yaxis_title="‖∂ℓ/∂h‖",
                      height=380, margin=dict(t=50, b=40, l=60, r=20))
    fig.update_yaxes(type="log")
    return fig


def tau_curves(taus: Sequence[float], scores: Mapping[str, Sequence[float]],
               value: str = "balanced_acc") -> go.Figure:
    """A score (e.g. balanced test accuracy) against the post-hoc logit-adjustment tau, one line per run."""
    fig = go.Figure()
    for i, (name, values) in enumerate(scores.items()):
        fig.add_trace(go.Scatter(x=list(taus), y=list(values), mode="lines+markers", name=name,
                                 line=dict(color=GROUP_PALETTES["all"][i % len(GROUP_PALETTES["all"])], width=2)))
    fig.update_layout(title=f"{METRIC_TITLES.get(value, value)} after post-hoc logit adjustment",
                      xaxis_title="τ", yaxis_title=value, height=360, margin=dict(t=50, b=40, l=50, r=20))
    return fig


def results_bars(frame, by: str = "method", values: Sequence[str] = ("balanced_acc",),
                 title: str | None = None) -> go.Figure:
    """Mean (± standard deviation over seeds) of result columns per method or setting, as grouped bars."""
    order = list(dict.fromkeys(frame[by].tolist()))
    grouped = frame.groupby(by, sort=False)
    fig = go.Figure()
    for i, value in enumerate(values):
        means = grouped[value].mean().reindex(order)
        spread = grouped[value].std().reindex(order).fillna(0.0)
        fig.add_trace(go.Bar(x=[str(k) for k in order], y=means.values, name=value,
                             error_y=dict(type="data", array=spread.values, visible=bool((spread > 0).any())),
                             marker_color=GROUP_PALETTES["all"][i % len(GROUP_PALETTES["all"])],
                             text=[f"{v:.3f}" for v in means.values], textposition="outside"))
    fig.update_layout(title=title or f"Results by {by}", barmode="group", xaxis_title=by, height=400,
                      margin=dict(t=50, b=80, l=50, r=20))
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[0, 1.1])
    return fig
