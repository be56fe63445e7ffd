"""Decision boundaries on 2-D data: a grid of predicted classes over the plane.

    grid = decision_grid(trainer)              # what the model predicts over the data's extent
    fig = figures.boundary.boundary_figure(grid, ...)  # regions coloured by class, training points on top

Used on the toy 2-D dataset to show how the major classes' regions swallow the minor classes'
under imbalance, and how major feature weakening (MFW) changes that as training goes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ProcrustesError, shown
from ..methods.posthoc import adjust_logits


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
        raise ProcrustesError(f"resolution={shown(resolution)}: expected an integer ≥ 2")
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


