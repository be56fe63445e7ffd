"""Decision boundaries on 2-D data: a grid of predicted classes over the plane, and its figure.

    grid = decision_grid(trainer)              # what the model predicts over the data's extent
    fig = boundary_figure(grid, trainer.data)  # regions coloured by class, training points on top

Used on the toy 2-D dataset to show how the major classes' regions swallow the minor classes'
under imbalance, and how major feature weakening (MFW) changes that as training goes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch

from .errors import ProcrustesError
from .methods import adjust_logits
from .plots import class_colors


@dataclass
class BoundaryGrid:
    """Predicted class (and its probability) at every point of a regular grid over the plane."""

    xs: np.ndarray  # (resolution,) grid coordinates along x
    ys: np.ndarray  # (resolution,) along y
    predicted: np.ndarray  # (resolution, resolution) class index, rows along y
    confidence: np.ndarray  # (resolution, resolution) probability of the predicted class
    epoch: int = 0

    def region_share(self, num_classes: int) -> list[float]:
        """Fraction of the plane each class is predicted on."""
        counts = np.bincount(self.predicted.ravel(), minlength=num_classes)
        return (counts / counts.sum()).tolist()


def plane_extent(points: np.ndarray | torch.Tensor, margin: float = 0.1) -> tuple[float, float, float, float]:
    """The bounding box of 2-D points, widened by ``margin`` of its size on every side."""
    pts = points.detach().cpu().numpy() if isinstance(points, torch.Tensor) else np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
        raise ProcrustesError(f"points of shape {tuple(pts.shape)}: decision boundaries need 2-D points")
    lo, hi = pts.min(0), pts.max(0)
    pad = (hi - lo) * margin + 1e-6
    return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])


def predict_grid(model: torch.nn.Module, extent: tuple[float, float, float, float], resolution: int = 80,
                 prior_log: torch.Tensor | None = None, tau: float = 0.0,
                 device: torch.device | str = "cpu") -> BoundaryGrid:
    """Evaluate ``model`` (eval mode, no mixing) on a ``resolution`` × ``resolution`` grid."""
    if resolution < 2:
        raise ProcrustesError(f"resolution={resolution!r}: expected an integer ≥ 2")
    x0, x1, y0, y1 = extent
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    gx, gy = np.meshgrid(xs, ys)
    points = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)).to(device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(points)
        if prior_log is not None and tau:
            logits = adjust_logits(logits, prior_log, tau)
        probs = torch.softmax(logits, 1)
    model.train(was_training)
    confidence, predicted = probs.max(1)
    shape = (resolution, resolution)
    # compact types: a live app keeps one grid per epoch and run
    return BoundaryGrid(xs, ys, predicted.cpu().numpy().astype(np.int16).reshape(shape),
                        confidence.cpu().numpy().astype(np.float16).reshape(shape))


def decision_grid(trainer, resolution: int = 80, tau: float | None = None) -> BoundaryGrid:
    """The decision regions of a Trainer's current model over its training data's extent
    (post-hoc logit adjustment applied as the run's config says, unless ``tau`` is given)."""
    data = trainer.data
    if data.kind != "vector" or data.input_shape != (2,):
        raise ProcrustesError(f"dataset={trainer.config.dataset!r}: decision boundaries need 2-D points (use toy2d)")
    tau = trainer.config.la_tau if tau is None else tau
    grid = predict_grid(trainer.model, plane_extent(data.x_train), resolution, trainer.prior_log, tau, trainer.device)
    grid.epoch = trainer.epoch
    return grid


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
    """Decision regions in the class colours (major classes blue, minor red) with the training points
    on top; every minor-class point is drawn, the others are thinned to ``max_points`` in all."""
    pts = points.detach().cpu().numpy() if isinstance(points, torch.Tensor) else np.asarray(points)
    ys = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    num_classes = int(max(grid.predicted.max(), ys.max() if len(ys) else 0) + 1)
    num_classes = max(num_classes, max((c for m in groups.values() for c in m), default=0) + 1)
    names = list(class_names or [str(c) for c in range(num_classes)])
    colors = class_colors(groups, num_classes)
    fig = go.Figure(go.Heatmap(
        x=grid.xs, y=grid.ys, z=grid.predicted, zmin=-0.5, zmax=num_classes - 0.5,
        colorscale=_discrete_scale(colors), showscale=False, opacity=0.35, hoverinfo="skip",
    ))
    tail = list(groups)[-1] if len(groups) > 1 else None
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
    caption = ", ".join(f"{names[c]} {share[c]:.0%}" for c in range(num_classes))
    fig.update_layout(title=title or f"Decision regions after epoch {grid.epoch}",
                      height=420, margin=dict(t=50, b=60, l=40, r=20), legend=dict(font=dict(size=10)),
                      annotations=[dict(text=f"share of the plane: {caption}", x=0, y=-0.12, xref="paper",
                                        yref="paper", showarrow=False, font=dict(size=11))])
    fig.update_xaxes(range=[grid.xs[0], grid.xs[-1]], showgrid=False, zeroline=False)
    fig.update_yaxes(range=[grid.ys[0], grid.ys[-1]], showgrid=False, zeroline=False, scaleanchor="x")
    return fig
