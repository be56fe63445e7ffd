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




@dataclass(frozen=True)
class BoundaryDefaults:
    """The Decision boundary page's defaults: on them ERM + LA and MFW + LA draw visibly different regions.

    Chosen in benchmarks/results/boundary_default.md on 16 seeds among shapes, ratios, MFW layers and
    schedules, and confirmed on 8 fresh ones: a constant strength keeps weakening to the end, where a warm-up
    lets the last epochs of plain training draw ERM's picture again."""

    shape: str = "blobs"
    ratio: float = 10.0
    epochs: int = 30
    n_samples: int = 4000
    mfw_layer: str = "block2"
    mfw_schedule: str = "constant"
    mfw_strength: float = 0.9
    mfw_detach: bool = False  # chosen so; the app's opening settings detach (MNIST-1D's story), this page does not


BOUNDARY_DEFAULTS = BoundaryDefaults()
BARELY_DIFFERENT = 0.02  # under this share of the plane, two pictures read as the same


@dataclass(frozen=True)
class GridDifference:
    """How two decision pictures of the same plane differ: where they predict another class, and how
    much of the plane the minor classes hold in each."""

    disagreement: float  # share of the grid where the two predict a different class
    minor_area: tuple[float, float]  # share of the plane predicted as a minor class: first, second

    @property
    def minor_area_change(self) -> float:
        """The second picture's minor area minus the first's (a share of the plane)."""
        return self.minor_area[1] - self.minor_area[0]

    @property
    def barely(self) -> bool:
        return self.disagreement < BARELY_DIFFERENT


def grid_difference(first: BoundaryGrid, second: BoundaryGrid, minor_classes: list[int]) -> GridDifference:
    """Compare two grids over the same plane (e.g. ERM + LA and MFW + LA at the same epoch)."""
    if first.predicted.shape != second.predicted.shape:
        raise ProcrustesError(f"grids of shapes {first.predicted.shape} and {second.predicted.shape}: "
                              "only grids over the same plane and resolution compare")
    differ = float(np.mean(first.predicted != second.predicted))
    minor = np.asarray(sorted(minor_classes), dtype=np.int64)
    area = tuple(float(np.isin(g.predicted, minor).mean()) for g in (first, second))
    return GridDifference(differ, area)


def difference_sentence(difference: GridDifference, first: str = "ERM + LA", second: str = "MFW + LA",
                        hint: str = "Try a higher MFW strength, more epochs or another shape.") -> str:
    """One line a learner reads under the two pictures: how much they differ, or that they barely do (then
    ``hint`` says what to try)."""
    share, change = difference.disagreement * 100, difference.minor_area_change * 100
    if difference.barely:
        return (f"MFW did not change this model's decisions here: {first} and {second} predict a different "
                f"class on only {share:.1f} % of the plane. {hint}")
    direction = "grow" if change > 0 else "shrink" if change < 0 else "keep their size"
    size = f" by {abs(change):.1f} points of the plane" if change else ""
    return (f"{second} predicts a different class than {first} on {share:.1f} % of the plane; the minor "
            f"classes' regions {direction}{size} ({difference.minor_area[0] * 100:.1f} % → "
            f"{difference.minor_area[1] * 100:.1f} % of the plane).")
