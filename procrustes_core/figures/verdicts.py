"""Figures of verdicts: each seed's paired scores with the mean difference, and gain heatmaps of a grid —
in points, gains green and losses purple (``colours.py``)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from .colours import GAIN, GAIN_LOSS_SCALE, LOSS
from .runs import MARGIN, METRIC_TITLES, plain


def paired_figure(comparison) -> go.Figure:
    """Each seed's pair of final scores joined by a line, and the mean difference with its interval."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.18,
                        subplot_titles=(f"{comparison.metric} per seed", f"{comparison.b} − {comparison.a}"))
    for seed, a, b in zip(comparison.seeds, comparison.a_values, comparison.b_values):
        fig.add_trace(go.Scatter(x=[comparison.a, comparison.b], y=[a, b], mode="lines+markers", showlegend=False,
                                 line=dict(color=GAIN if b > a else LOSS, width=1.5),
                                 hovertemplate=f"seed {seed}: %{{y:.3f}}<extra></extra>"), row=1, col=1)
    mean, lo, hi = comparison.interval
    fig.add_trace(go.Scatter(x=[mean], y=["mean"], mode="markers", marker=dict(size=10, color="black"),
                             error_x=dict(type="data", symmetric=False, array=[hi - mean], arrayminus=[mean - lo]),
                             showlegend=False, hovertemplate=f"{mean:+.1f} [{lo:+.1f}, {hi:+.1f}]<extra></extra>"),
                  row=1, col=2)
    fig.add_trace(go.Scatter(x=[d * comparison.scale for d in comparison.differences], y=["seeds"] * comparison.n,
                             mode="markers", marker=dict(size=7, color="#888"), showlegend=False), row=1, col=2)
    fig.add_vline(x=0, line=dict(color="#555", width=1), row=1, col=2)
    fig.update_xaxes(title_text=comparison.unit, row=1, col=2)
    fig.update_yaxes(title_text="score", row=1, col=1)
    fig.update_layout(height=320, margin=MARGIN)
    return fig


def _axis_label(value) -> str:
    """A grid value as a heatmap label: numbers as 10 / 0.5, anything else (names, lists) as text."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return f"{value:g}"
    return plain(str(value))


def sweep_heatmap(frame, x: str = "ratio", y: str = "mfw_strength", value: str = "balanced_acc",
                  title: str | None = None, difference: bool = False, labels: Mapping[str, str] | None = None,
                  zrange: tuple[float, float] | None = None) -> go.Figure:
    """Mean of ``value`` over a grid of two settings (a pandas frame with one row per run), on a fixed
    colour scale (0–1 for accuracies) so cells arriving later are painted on the same scale; with
    ``difference``, each cell minus the first row's (e.g. strength 0), in points on a diverging scale.
    Failed runs, with no value, leave their cell empty; settings with names or lists as values work too."""
    frame = frame.copy()
    for axis in (x, y):  # lists (counts) cannot be grouped by; their text can
        if frame[axis].map(lambda v: isinstance(v, (list, tuple, dict))).any():
            frame[axis] = frame[axis].map(str)
    table = frame.groupby([y, x])[value].mean().unstack(x).sort_index()
    z = table.values
    if difference:
        z = (z - z[:1]) * 100
        low, high = zrange or (-10.0, 10.0)
        scale, text = GAIN_LOSS_SCALE, np.round(z, 1)
        hover = f"{x} %{{x}}, {y} %{{y}}: %{{z:+.1f}} points<extra></extra>"
    else:
        low, high = zrange or (0.0, 1.0)
        scale, text = "Viridis", np.round(z, 3)
        hover = f"{x} %{{x}}, {y} %{{y}}: %{{z:.3f}}<extra></extra>"
    names = labels or {}
    fig = go.Figure(go.Heatmap(z=z, x=[_axis_label(v) for v in table.columns], y=[_axis_label(v) for v in table.index],
                               colorscale=scale, zmin=low, zmax=high, text=text, texttemplate="%{text}",
                               hovertemplate=hover, colorbar=dict(title="points" if difference else "accuracy")))
    fig.update_layout(title=title or f"{METRIC_TITLES.get(value, value)} over {x} × {y}",
                      xaxis_title=names.get(x, x), yaxis_title=names.get(y, y), height=380, margin=MARGIN)
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig


