"""The decision-regions figure of 2-D data: regions coloured by predicted class, training points on top."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from ..analysis.boundary import BoundaryGrid
from ..data.imbalance import tail_name
from .colours import class_colours
from .runs import LEGEND_BELOW


def _discrete_scale(colors: Sequence[str]) -> list[list]:
    """A Plotly colour scale giving each integer 0..k-1 its own flat colour."""
    k = len(colors)
    scale = []
    for i, color in enumerate(colors):
        scale += [[i / k, color], [(i + 1) / k, color]]
    return scale


def boundary_figure(grid: BoundaryGrid, points: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
                    groups: Mapping[str, Sequence[int]], class_names: Sequence[str] | None = None,
                    title: str | None = None, max_points: int = 1500, seed: int = 0) -> go.Figure:
    """Decision regions with a distinct shade per class (blue major, orange minor) and the training points
    on top (minor classes as large diamonds); every minor-class point is drawn, the others are
    thinned to ``max_points`` in all."""
    pts = points.detach().cpu().numpy() if isinstance(points, torch.Tensor) else np.asarray(points)
    ys = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    num_classes = int(max(grid.predicted.max(), ys.max() if len(ys) else 0) + 1)
    num_classes = max(num_classes, max((c for m in groups.values() for c in m), default=0) + 1)
    names = list(class_names or [str(c) for c in range(num_classes)])
    colors = class_colours(groups, num_classes)  # major classes in blues, minor in oranges, each its own shade
    fig = go.Figure(go.Heatmap(
        x=grid.xs, y=grid.ys, z=grid.predicted, zmin=-0.5, zmax=num_classes - 0.5,
        colorscale=_discrete_scale(colors), showscale=False, opacity=0.35, hoverinfo="skip",
    ))
    tail = tail_name(groups) if len(groups) > 1 else None
    rng = np.random.default_rng(seed)
    keep_share = min(1.0, max_points / max(len(ys), 1))
    for c in range(num_classes):
        idx = np.flatnonzero(ys == c)
        in_tail = tail is not None and c in groups[tail]
        if not in_tail and keep_share < 1:
            idx = idx[rng.random(len(idx)) < keep_share]
        fig.add_trace(go.Scatter(
            x=pts[idx, 0], y=pts[idx, 1], mode="markers", name=f"{names[c]} (n={int((ys == c).sum())})",
            marker=dict(color=colors[c], size=8 if in_tail else 4, symbol="diamond" if in_tail else "circle",
                        line=dict(width=1 if in_tail else 0, color="white")),
        ))
    share = grid.region_share(num_classes)
    minor = [c for c in range(num_classes) if tail is not None and c in groups[tail]]
    caption = f"minor classes hold {sum(share[c] for c in minor):.0%} of the plane" if minor else ""
    fig.update_layout(title=title or f"Decision regions after epoch {grid.epoch}", uirevision="keep",
                      height=440, margin=dict(t=70, b=60, l=40, r=20), legend=LEGEND_BELOW,
                      annotations=[dict(text=caption, x=0, y=1.0, yanchor="bottom", xref="paper", yref="paper",
                                        showarrow=False, font=dict(size=11))] if caption else [])
    fig.update_xaxes(range=[grid.xs[0], grid.xs[-1]], showgrid=False, zeroline=False)
    fig.update_yaxes(range=[grid.ys[0], grid.ys[-1]], showgrid=False, zeroline=False, scaleanchor="x")
    return fig
