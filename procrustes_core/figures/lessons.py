"""Figures of the lessons: pictures of data, of the mixing step, of gradients and of small result tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .colours import TREATMENT
from .runs import GROUP_PALETTES, METRIC_TITLES, class_colors, group_of


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
    class_group = group_of(groups)
    cols = min(5, num_classes)
    rows = -(-num_classes // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"class {n} ({class_group.get(c, '')})"
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


def weakening_weight_bars(weights: Sequence[float], class_names: Sequence[str],
                          groups: Mapping[str, Sequence[int]] | None = None,
                          title: str = "MFW weakening weights w_c") -> go.Figure:
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
                                 legendgroup="mixed", line=dict(color=TREATMENT, width=2, dash="dash")),
                      row=row, col=1)
    fig.update_layout(title="A mini-batch before and after major feature weakening", height=200 * len(indices) + 80,
                      margin=dict(t=80, b=30, l=40, r=20))
    return fig


def toy_mix(points, mixed, labels, groups: Mapping[str, Sequence[int]], class_names: Sequence[str]) -> go.Figure:
    """2-D points of a batch and where mixing moves them (a line from each point to its mix)."""
    points, mixed, labels = np.asarray(points), np.asarray(mixed), np.asarray(labels)
    colors = class_colors(groups, len(class_names))
    class_group = group_of(groups)
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
                                     name=f"{name} ({class_group.get(c, '')})",
                                     marker=dict(size=7, color=colors[c], line=dict(width=0.5, color="white"))))
    fig.update_layout(title="2-D points before (dots) and after (crosses) weakening; labels are kept",
                      height=460, margin=dict(t=50, b=40, l=50, r=20), xaxis_title="x₁", yaxis_title="x₂")
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def augmentation_figure(originals, augmented, labels, class_names: Sequence[str],
                        title: str = "Minor-class samples before and after augmentation (labels kept)") -> go.Figure:
    """A few samples and the same samples augmented (``data.augment.augmentation_examples`` gives both):
    signals as two lines per panel, images side by side (first channel, or their mean), 2-D points
    with a line to where augmentation moved them."""
    from plotly.subplots import make_subplots

    originals, augmented, labels = np.asarray(originals), np.asarray(augmented), np.asarray(labels)
    n = len(labels)
    if originals.ndim == 2:  # feature vectors: show the first two features
        fig = go.Figure()
        xs, ys = [], []
        for i in range(n):
            xs += [originals[i, 0], augmented[i, 0], None]
            ys += [originals[i, 1], augmented[i, 1], None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#bbbbbb", width=1), name="moved"))
        fig.add_trace(go.Scatter(x=originals[:, 0], y=originals[:, 1], mode="markers", name="original",
                                 marker=dict(size=8, color="#08519c")))
        fig.add_trace(go.Scatter(x=augmented[:, 0], y=augmented[:, 1], mode="markers", name="augmented",
                                 marker=dict(size=8, symbol="x", color=TREATMENT)))
        fig.update_layout(title=title, height=420, margin=dict(t=50, b=40, l=50, r=20))
        return fig
    titles = [f"class {class_names[int(c)]}" for c in labels]
    if originals.ndim == 3:  # signals (n, channels, length)
        fig = make_subplots(rows=n, cols=1, subplot_titles=titles, vertical_spacing=0.08)
        for row in range(n):
            first = row == 0
            fig.add_trace(go.Scatter(y=originals[row].mean(0), mode="lines", name="original", showlegend=first,
                                     legendgroup="original", line=dict(color="#08519c", width=2)), row=row + 1, col=1)
            fig.add_trace(go.Scatter(y=augmented[row].mean(0), mode="lines", name="augmented", showlegend=first,
                                     legendgroup="augmented", line=dict(color=TREATMENT, width=2, dash="dash")),
                          row=row + 1, col=1)
        fig.update_layout(title=title, height=170 * n + 80, margin=dict(t=80, b=30, l=40, r=20))
        return fig
    fig = make_subplots(rows=2, cols=n, subplot_titles=titles + [""] * n, vertical_spacing=0.06,
                        row_titles=["original", "augmented"])
    for col in range(n):
        for row, images in ((1, originals), (2, augmented)):
            image = images[col].mean(0)
            fig.add_trace(go.Heatmap(z=image[::-1], colorscale="gray", showscale=False), row=row, col=col + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, scaleanchor="x")
    fig.update_layout(title=title, height=360, margin=dict(t=70, b=20, l=30, r=40))
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
