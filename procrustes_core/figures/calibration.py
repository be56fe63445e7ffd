"""Figures beyond accuracy: per-class precision–recall curves, reliability diagrams, a decision threshold
and accuracy under other class priors (the numbers come from ``analysis.calibration``).

    pr_curves(per_class_pr(p, y), class_names, groups)        one curve per class, AP in the legend
    reliability_diagram({"ERM": reliability(p, y), ...})      accuracy against confidence per bin, ECE in the legend
    threshold_figure(scores, positive, chosen=0.3)            precision, recall and F1 against the threshold
    prior_figure(shares, {"ERM": [...], ...})                 accuracy as the deployment prior moves
    calibration_figures(p, y, counts, class_names, groups)    the report's figures of one run
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.calibration import PRCurve, Reliability, per_class_pr, pr_curve, reliability, scores_at
from ..data.imbalance import class_groups, tail_name
from .runs import LEGEND_BELOW, MARGIN, METHOD_COLORS, class_colors, group_of, plain


def pr_curves(curves: Sequence[PRCurve], class_names: Sequence[str] | None = None,
              groups: Mapping[str, Sequence[int]] | None = None,
              title: str = "Precision–recall per class (test split), PR-AUC in the legend") -> go.Figure:
    """One precision–recall curve per class (major in blue, minor in red and dashed), with its AP; the
    dotted line at the bottom is a random scorer's precision, the share of positives."""
    names = list(class_names or [str(c) for c in range(len(curves))])
    groups = groups or {"all": list(range(len(curves)))}
    colors = class_colors(groups, len(curves))
    class_group = group_of(groups)
    tail = tail_name(groups) if len(groups) > 1 else None
    fig = go.Figure()
    for c, curve in enumerate(curves):
        minor = class_group.get(c) == tail
        fig.add_trace(go.Scatter(x=np.r_[0.0, curve.recall], y=np.r_[curve.precision[:1], curve.precision],
                                 mode="lines", line=dict(color=colors[c], width=2, dash="dash" if minor else "solid",
                                                         shape="hv"),
                                 name=plain(f"{names[c]} ({class_group.get(c, '')}) AP {curve.average_precision:.2f}")))
    if curves:
        share = float(np.mean([c.baseline for c in curves]))
        fig.add_hline(y=share, line=dict(color="#999", width=1, dash="dot"),
                      annotation_text=f"random scorer ≈ {share:.2f}", annotation_position="bottom right")
    fig.update_layout(title=title, xaxis_title="recall", yaxis_title="precision", height=420, margin=MARGIN,
                      legend=LEGEND_BELOW)
    fig.update_xaxes(range=[0, 1.02])
    fig.update_yaxes(range=[0, 1.02])
    return fig


def reliability_diagram(reliabilities: Mapping[str, Reliability] | Reliability,
                        title: str = "Reliability diagram (test split): accuracy against confidence") -> go.Figure:
    """Each bin's accuracy against its mean confidence, one line per run (ECE in the legend), the
    diagonal of perfect calibration, and the samples per bin as faint bars of the first run."""
    named = {"run": reliabilities} if isinstance(reliabilities, Reliability) else dict(reliabilities)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#999", dash="dot"),
                             name="perfectly calibrated"))
    first = next(iter(named.values()), None)
    if first is not None and first.counts.sum():
        centres = (first.edges[:-1] + first.edges[1:]) / 2
        share = first.counts / first.counts.sum()
        fig.add_trace(go.Bar(x=centres, y=share, width=np.diff(first.edges), marker_color="rgba(120,120,120,0.18)",
                             name=f"share of samples per bin ({plain(next(iter(named)))})", hoverinfo="skip"))
    for i, (name, rel) in enumerate(named.items()):
        full = rel.counts > 0
        fig.add_trace(go.Scatter(x=rel.confidence[full], y=rel.accuracy[full], mode="lines+markers",
                                 name=plain(f"{name}: ECE {rel.ece:.3f}"),
                                 line=dict(color=METHOD_COLORS[i % len(METHOD_COLORS)], width=2),
                                 customdata=rel.counts[full],
                                 hovertemplate="confidence %{x:.2f}: accuracy %{y:.2f} (%{customdata} samples)"
                                               "<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="confidence (top predicted probability)",
                      yaxis_title="accuracy in the bin", height=420, margin=MARGIN, legend=LEGEND_BELOW,
                      bargap=0)
    fig.update_xaxes(range=[0, 1.01])
    fig.update_yaxes(range=[0, 1.02])
    return fig


def threshold_figure(scores, positive, chosen: float | None = None, points: int = 101,
                     title: str = "Moving the decision threshold (one class against the rest)") -> go.Figure:
    """Precision, recall, F1 and accuracy of calling ``score ≥ t`` positive, for ``t`` from 0 to 1 (scores
    are probabilities), with the chosen threshold marked."""
    grid = np.linspace(0.0, 1.0, points)
    found = [scores_at(scores, positive, t) for t in grid]
    fig = go.Figure()
    for (name, key), color in zip((("precision", "precision"), ("recall", "recall"), ("F1", "f1"),
                                   ("accuracy", "accuracy")), METHOD_COLORS):
        fig.add_trace(go.Scatter(x=grid, y=[getattr(b, key) for b in found], mode="lines", name=name,
                                 line=dict(color=color, width=2, dash="dot" if key == "accuracy" else "solid")))
    if chosen is not None:
        fig.add_vline(x=float(chosen), line=dict(color="#333", width=1, dash="dash"),
                      annotation_text=f"chosen t = {float(chosen):.2f}", annotation_position="top")
    fig.update_layout(title=title, xaxis_title="threshold t (called positive when score ≥ t)", yaxis_title="score",
                      height=380, margin=MARGIN, legend=LEGEND_BELOW)
    fig.update_yaxes(range=[-0.02, 1.02])
    return fig


def prior_figure(shares: Sequence[float], series: Mapping[str, Sequence[float]], metric: str = "accuracy",
                 xlabel: str = "share of the minor classes in the deployment data",
                 title: str = "Accuracy as the deployment prior moves") -> go.Figure:
    """One line per model or correction: a score against the deployment data's share of minor classes."""
    fig = go.Figure()
    for i, (name, values) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=list(shares), y=list(values), mode="lines+markers", name=plain(name),
                                 line=dict(color=METHOD_COLORS[i % len(METHOD_COLORS)], width=2)))
    fig.update_layout(title=title, xaxis_title=xlabel, yaxis_title=metric, height=380, margin=MARGIN,
                      legend=LEGEND_BELOW)
    fig.update_yaxes(range=[-0.02, 1.02])
    return fig


def calibration_figures(probabilities, labels, counts: Sequence[int], class_names: Sequence[str] | None = None,
                        groups: Mapping[str, Sequence[int]] | None = None, bins: int = 15) -> dict[str, go.Figure]:
    """The figures beyond accuracy of one run's test predictions, by name (``procrustes report`` adds them)."""
    groups = groups or class_groups(list(counts))
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels).astype(int)
    tail = tail_name(groups)
    rare = np.isin(y, groups[tail])
    rare_score = p[:, groups[tail]].sum(axis=1)  # "a minor class" against "a major one"
    chosen = 0.5
    ap = pr_curve(rare_score, rare).average_precision
    return {
        "precision–recall curves": pr_curves(per_class_pr(p, y), class_names, groups),
        "reliability diagram": reliability_diagram({"this run": reliability(p, y, bins)}),
        f"threshold for the {tail} classes": threshold_figure(
            rare_score, rare, chosen,
            title=f"Calling a sample {tail} when P({tail}) ≥ t (AP {ap:.2f})"),
    }
