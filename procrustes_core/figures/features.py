"""The feature-space view: a fixed sample of training points' penultimate features on a 2-D projection,
coloured by class, the minor classes' points larger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ..data.imbalance import tail_name
from .runs import LEGEND_BELOW, MARGIN, class_colors, group_of, plain


def feature_view(points: Sequence[Sequence[float]], labels: Sequence[int], groups: Mapping[str, Sequence[int]],
                 class_names: Sequence[str], title: str) -> go.Figure:
    """The penultimate features of a fixed sample of training points, on a 2-D projection."""
    pts, labels = np.asarray(points, dtype=float), np.asarray(labels)
    colors = class_colors(groups, len(class_names))
    class_group = group_of(groups)
    tail = tail_name(groups) if len(groups) > 1 else None
    fig = go.Figure()
    for c, name in enumerate(class_names):
        chosen = labels == c
        if not chosen.any():
            continue
        minor = class_group.get(c) == tail
        fig.add_trace(go.Scattergl(x=pts[chosen, 0], y=pts[chosen, 1], mode="markers",
                                   name=plain(f"{name} ({class_group.get(c, '')})"),
                                   marker=dict(color=colors[c], size=8 if minor else 5,
                                               symbol="diamond" if minor else "circle",
                                               line=dict(width=1 if minor else 0, color="white"))))
    fig.update_layout(title=title, height=420, margin=MARGIN, legend=LEGEND_BELOW, xaxis_title="first direction",
                      yaxis_title="second direction", uirevision="keep")
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig
