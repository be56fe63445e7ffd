"""The loaders of the registered datasets: each returns a ``Pool`` (a balanced dataset before
imbalance, as NumPy arrays). No torch here: torchvision is imported only when a torchvision dataset is read.

Embedded (no network): MNIST-1D (generated with the mnist1d package's ``make_dataset``, cached as
``.npz``), scikit-learn's digits, and 2-D toy points (blobs, moons, spiral). Through torchvision,
from a local folder or with ``download=True``: MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ProcrustesError, shown_path
from ..files import atomic_write_bytes

TOY_CLASSES = {"blobs": 6, "moons": 2, "spiral": 4}
POOL_SEED = 42  # the pool (generation and the train/test split) is fixed; subsets vary with the run seed


@dataclass
class Pool:
    """A dataset before imbalance: features, labels and what they look like."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    kind: str  # "signal" (1-D sequence), "vector" (2-D points) or "image"
    content_hash: str = ""  # a file's SHA-256 (your own data): how a link names them

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def cache_dir() -> Path:
    """Where generated datasets are kept: ``$PROCRUSTES_CACHE`` or ``~/.cache/procrustes``."""
    return Path(os.environ.get("PROCRUSTES_CACHE") or Path.home() / ".cache" / "procrustes")


# ------------------------------------------------------------------ embedded datasets


def mnist1d_path(n_samples: int) -> Path:
    return cache_dir() / f"mnist1d-{n_samples}.npz"


def mnist1d_labels(n_samples: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The training and test labels of a cached MNIST-1D pool, or ``None`` if none is cached (or it is damaged)."""
    path = mnist1d_path(n_samples)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as saved:
            return saved["y"], saved["y_test"]
    except (OSError, ValueError, KeyError):
        return None


def mnist1d_pool(n_samples: int) -> Pool:
    """MNIST-1D generated with the mnist1d package's ``make_dataset`` (cached as ``.npz``, never pickled)."""
    path = mnist1d_path(n_samples)
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as saved:
                arrays = {k: saved[k] for k in ("x", "y", "x_test", "y_test")}
        except (OSError, ValueError, KeyError):
            arrays = None  # a damaged cache is regenerated
    else:
        arrays = None
    if arrays is None:
        from mnist1d.data import get_dataset_args, make_dataset

        args = get_dataset_args()
        args.num_samples = n_samples
        args.seed = POOL_SEED
        state = np.random.get_state()  # make_dataset seeds NumPy's global generator; leave it as found
        try:
            made = make_dataset(args)
        finally:
            np.random.set_state(state)
        arrays = {
            "x": made["x"].astype(np.float32),
            "y": made["y"].astype(np.int64),
            "x_test": made["x_test"].astype(np.float32),
            "y_test": made["y_test"].astype(np.int64),
        }
        _atomic_savez(path, arrays)
    return Pool(
        "mnist1d", arrays["x"][:, None, :], arrays["y"], arrays["x_test"][:, None, :], arrays["y_test"],
        [str(d) for d in range(10)], "signal",
    )


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue(), "cache")
    except (OSError, ProcrustesError):
        pass  # a cache that cannot be written only costs time


def _split(x: np.ndarray, y: np.ndarray, test_frac: float) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(POOL_SEED)
    order = rng.permutation(len(y))
    cut = int(len(y) * (1 - test_frac))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def digits_pool() -> Pool:
    """scikit-learn's 8x8 digits, split 70 / 30."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]
    x_train, y_train, x_test, y_test = _split(x, digits.target.astype(np.int64), 0.3)
    return Pool("digits", x_train, y_train, x_test, y_test, [str(d) for d in range(10)], "image")


def toy2d_points(shape: str, n_samples: int, seed: int = POOL_SEED) -> tuple[np.ndarray, np.ndarray]:
    """2-D points and labels: 6 ``blobs`` on a circle, 2 ``moons``, or a 4-arm ``spiral``."""
    rng = np.random.default_rng(seed)
    if shape == "moons":
        from sklearn.datasets import make_moons

        x, y = make_moons(n_samples=n_samples, noise=0.2, random_state=seed)
    elif shape == "blobs":
        k = 6
        y = np.arange(n_samples) % k
        angle = 2 * np.pi * y / k
        x = np.stack([3 * np.cos(angle), 3 * np.sin(angle)], 1) + rng.normal(0, 0.9, (n_samples, 2))
    else:
        k = 4
        y = np.arange(n_samples) % k
        r = rng.uniform(0.15, 1.0, n_samples)
        theta = 2 * np.pi * y / k + 3.0 * r
        x = np.stack([r * np.cos(theta), r * np.sin(theta)], 1) * 2 + rng.normal(0, 0.12, (n_samples, 2))
    x = (x - x.mean(0)) / x.std(0)
    return x.astype(np.float32), y.astype(np.int64)


def toy2d_pool(shape: str, n_samples: int) -> Pool:
    """2-D points of one shape, split 70 / 30."""
    x, y = toy2d_points(shape, n_samples)
    x_train, y_train, x_test, y_test = _split(x, y, 0.3)
    names = [f"{shape}-{c}" for c in range(TOY_CLASSES[shape])]
    return Pool("toy2d", x_train, y_train, x_test, y_test, names, "vector")


# ------------------------------------------------------------------ torchvision datasets

def torchvision_pool(name: str, cls_name: str, channels: int, data_dir: str | None, download: bool) -> Pool:
    """A torchvision dataset read from ``data_dir`` (downloaded there if ``download``), standardised per channel."""
    if data_dir is None:
        raise ProcrustesError(f"data_dir=None: dataset {name!r} is read from a folder; give --data-dir")
    if "\x00" in data_dir:  # os functions raise ValueError on it, even torchvision's download
        raise ProcrustesError(f"data_dir={shown_path(data_dir)}: a path cannot hold a NUL character")

    import torchvision

    root = Path(data_dir).expanduser()
    if not root.is_dir() and not download:
        raise ProcrustesError(f"data_dir={shown_path(data_dir)}: no such folder (create it, or allow download)")
    cls = getattr(torchvision.datasets, cls_name)
    splits = []
    for train in (True, False):
        try:
            ds = cls(root=str(root), train=train, download=download)
        except RuntimeError as err:
            reason = str(err).splitlines()[0] if str(err) else "files missing or corrupted"
            raise ProcrustesError(
                f"data_dir={shown_path(data_dir)}: {cls_name} not found there ({reason.rstrip('.')}); "
                "put torchvision's files there or allow download"
            ) from None
        except OSError as err:
            raise ProcrustesError(f"data_dir={shown_path(data_dir)}: could not read {cls_name} "
                                  f"({err.strerror or err})") from None
        x = np.asarray(ds.data, dtype=np.float32) / 255.0
        x = x[:, None] if channels == 1 else x.transpose(0, 3, 1, 2)
        splits += [np.ascontiguousarray(x), np.asarray(ds.targets, dtype=np.int64)]
        classes = list(ds.classes)
    mean = splits[0].mean(axis=(0, 2, 3), keepdims=True)
    std = splits[0].std(axis=(0, 2, 3), keepdims=True) + 1e-6
    splits[0] = (splits[0] - mean) / std
    splits[2] = (splits[2] - mean) / std
    return Pool(name, *splits, [str(c) for c in classes], "image")
