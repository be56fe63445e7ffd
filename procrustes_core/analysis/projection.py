"""A 2-D view of the penultimate features, epoch by epoch, on one projection fixed across epochs.

    sample = feature_sample(labels, groups)      a fixed subset: every tail-class sample (up to a cap)
                                                 and as many of each other class
    trail = FeatureTrail(sample)
    trail.add(epoch, features)                   after each epoch: the subset's features (kept in float16)
    trail.live()                                 this epoch's points on its own principal plane, turned
                                                 to match the previous epoch's (orthogonal Procrustes)
    trail.replay()                               every epoch on the last epoch's principal plane: one
                                                 fixed projection, so movement between epochs is real

Learners see major-class features being weakened (pulled towards other classes while MFW is on) and
the minor classes either separating or collapsing into a major cluster.

Features that are not finite (a diverged network) raise ``FeaturesNotFinite``, never a linear-algebra
error; the projections are computed in float64, so finite but huge features do not overflow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ProcrustesError

FLOAT16_MAX = 65_504.0  # features beyond it are kept in float32, not turned into inf


class FeaturesNotFinite(ProcrustesError):
    """The features hold NaN or infinity: the network diverged, there is nothing to project."""


def feature_sample(labels: Sequence[int], groups: dict[str, list[int]], per_class: int = 40,
                   seed: int = 0) -> np.ndarray:
    """Indices of at most ``per_class`` training samples of every class (all of a smaller class)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng([seed, 23])
    chosen = []
    for c in sorted({c for members in groups.values() for c in members}):
        members = np.flatnonzero(labels == c)
        chosen.append(np.sort(rng.choice(members, size=min(per_class, len(members)), replace=False)))
    return np.concatenate(chosen) if chosen else np.array([], dtype=np.int64)


def principal_plane(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and the top two principal directions (rows) of a set of feature vectors."""
    features = _finite(features)
    mean = features.mean(0)
    _, _, vt = np.linalg.svd(features - mean, full_matrices=False)
    basis = vt[:2] if len(vt) >= 2 else np.vstack([vt, np.zeros_like(vt)])[:2]
    return mean, basis


def project(features: np.ndarray, mean: np.ndarray, basis: np.ndarray) -> np.ndarray:
    return (_finite(features) - mean) @ basis.T


def _finite(features: np.ndarray) -> np.ndarray:
    """``features`` in float64, or ``FeaturesNotFinite``."""
    features = np.asarray(features, dtype=np.float64)
    if not np.isfinite(features).all():
        raise FeaturesNotFinite("the penultimate features are not finite (the network diverged)")
    return features


def align(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``points`` turned (rotation or reflection) to lie as close as possible to ``reference``."""
    u, _, vt = np.linalg.svd(points.T @ reference)
    return points @ (u @ vt)


class FeatureTrail:
    """The features of a fixed sample of training points, kept epoch by epoch."""

    def __init__(self, sample: np.ndarray, labels: Sequence[int]):
        self.sample = np.asarray(sample)
        self.labels = np.asarray(labels)[self.sample]
        self.epochs: list[int] = []
        self._features: list[np.ndarray] = []
        self._live: list[np.ndarray] = []

    def add(self, epoch: int, features: np.ndarray) -> np.ndarray:
        """Keep an epoch's features; return its live 2-D points (``FeaturesNotFinite``: nothing is kept)."""
        features = _finite(features).reshape(len(self.sample), -1)
        points = project(features, *principal_plane(features))
        small = features.size == 0 or float(np.abs(features).max()) < FLOAT16_MAX
        self.epochs.append(epoch)
        self._features.append(features.astype(np.float16 if small else np.float32))
        if self._live:
            points = align(points, self._live[-1])
        self._live.append(points)
        return points

    def live(self) -> np.ndarray:
        return self._live[-1]

    def replay(self) -> list[np.ndarray]:
        """Every epoch's points on the last epoch's principal plane."""
        if not self._features:
            return []
        mean, basis = principal_plane(self._features[-1])
        return [project(f, mean, basis) for f in self._features]
