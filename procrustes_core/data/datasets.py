"""Datasets as in-memory tensors: a balanced pool, then an imbalanced training subset of it.

Embedded (no network): ``mnist1d`` (generated with the mnist1d package's ``make_dataset``,
cached as ``.npz``), ``digits`` (scikit-learn) and ``toy2d`` (blobs, moons, spiral). Through
torchvision, from a local folder or with ``download=True``: ``mnist``, ``fashion-mnist``,
``cifar10``, ``cifar100``. Imbalance is applied to the training split only; the test split is
trimmed to the same number of samples in every class.
"""

from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import TrainConfig
from ..errors import ProcrustesError, shown, shown_path
from ..files import atomic_write_bytes
from .imbalance import class_counts, class_groups, subsample

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

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass
class Data:
    """What a run trains and evaluates on: tensors plus the class counts and groups."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_val: torch.Tensor | None
    y_val: torch.Tensor | None
    counts: list[int]
    groups: dict[str, list[int]]
    class_names: list[str]
    kind: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def cache_dir() -> Path:
    """Where generated datasets are kept: ``$PROCRUSTES_CACHE`` or ``~/.cache/procrustes``."""
    return Path(os.environ.get("PROCRUSTES_CACHE") or Path.home() / ".cache" / "procrustes")


# ------------------------------------------------------------------ embedded datasets


def _mnist1d(n_samples: int) -> Pool:
    path = cache_dir() / f"mnist1d-{n_samples}.npz"
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


def _digits() -> Pool:
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


def _toy2d(shape: str, n_samples: int) -> Pool:
    x, y = toy2d_points(shape, n_samples)
    x_train, y_train, x_test, y_test = _split(x, y, 0.3)
    names = [f"{shape}-{c}" for c in range(int(y.max()) + 1)]
    return Pool("toy2d", x_train, y_train, x_test, y_test, names, "vector")


# ------------------------------------------------------------------ torchvision datasets

_TORCHVISION = {
    "mnist": ("MNIST", 1),
    "fashion-mnist": ("FashionMNIST", 1),
    "cifar10": ("CIFAR10", 3),
    "cifar100": ("CIFAR100", 3),
}


def _torchvision(name: str, data_dir: str | None, download: bool) -> Pool:
    if data_dir is None:
        raise ProcrustesError(f"data_dir=None: dataset {name!r} is read from a folder; give --data-dir")
    if "\x00" in data_dir:  # os functions raise ValueError on it, even torchvision's download
        raise ProcrustesError(f"data_dir={shown_path(data_dir)}: a path cannot hold a NUL character")

    import torchvision

    root = Path(data_dir).expanduser()
    if not root.is_dir() and not download:
        raise ProcrustesError(f"data_dir={shown_path(data_dir)}: no such folder (create it, or allow download)")
    cls_name, channels = _TORCHVISION[name]
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


@dataclass(frozen=True)
class Outline:
    """What a dataset's pool looks like, known before (or without) building it."""

    input_shape: tuple[int, ...]
    num_classes: int
    available: tuple[int, ...]  # training samples per class in the pool
    test_per_class: int
    exact: bool  # False: estimated from the generator's proportions (the data are not generated yet)


_TORCHVISION_OUTLINE = {"mnist": ((1, 28, 28), 10, 5421, 892), "fashion-mnist": ((1, 28, 28), 10, 6000, 1000),
                        "cifar10": ((3, 32, 32), 10, 5000, 1000), "cifar100": ((3, 32, 32), 100, 500, 100)}
_TOY_CLASSES = {"blobs": 6, "moons": 2, "spiral": 4}


def outline(config: TrainConfig) -> Outline:
    """The pool's shape and class sizes: exact when the pool is in memory or cached on disk, else
    estimated from the generator's split — so a page can price a training and draw its class counts
    without generating (or downloading) anything. torchvision figures are the smallest class of the
    standard splits."""
    if config.dataset == "mnist1d":
        path = cache_dir() / f"mnist1d-{config.n_samples}.npz"
        if path.exists():
            try:
                with np.load(path, allow_pickle=False) as saved:
                    train, test = np.bincount(saved["y"], minlength=10), np.bincount(saved["y_test"], minlength=10)
                return Outline((1, 40), 10, tuple(int(c) for c in train), int(test.min()), True)
            except (OSError, ValueError, KeyError):
                pass  # a damaged cache: estimate, as if absent
        per_class = int(config.n_samples * 0.8) // 10
        return Outline((1, 40), 10, (per_class,) * 10, (config.n_samples - int(config.n_samples * 0.8)) // 10, False)
    if config.dataset in ("digits", "toy2d"):
        pool = pool_for(config)  # small and quick (digits: 1,797 images; toy2d: 2-D points)
        train, test = np.bincount(pool.y_train), np.bincount(pool.y_test)
        return Outline(tuple(pool.x_train.shape[1:]), pool.num_classes, tuple(int(c) for c in train),
                       int(test.min()), True)
    shape, classes, per_class, test = _TORCHVISION_OUTLINE[config.dataset]
    return Outline(shape, classes, (per_class,) * classes, test, False)


@functools.lru_cache(maxsize=8)
def load_pool(dataset: str, n_samples: int = 20_000, toy_shape: str = "spiral",
              data_dir: str | None = None, download: bool = False) -> Pool:
    """The balanced dataset before imbalance (cached in memory for all runs of this process)."""
    if dataset == "mnist1d":
        return _mnist1d(n_samples)
    if dataset == "digits":
        return _digits()
    if dataset == "toy2d":
        return _toy2d(toy_shape, n_samples)
    if dataset in _TORCHVISION:
        return _torchvision(dataset, data_dir, download)
    raise ProcrustesError(f"dataset={dataset!r}: expected one of mnist1d, digits, toy2d, {', '.join(_TORCHVISION)}")


def pool_for(config: TrainConfig) -> Pool:
    return load_pool(config.dataset, config.n_samples, config.toy_shape, config.data_dir, config.download)


def counts_for(config: TrainConfig, pool: Pool | Outline | None = None) -> list[int]:
    """The training count of every class that ``config`` asks for (from the pool, or its outline)."""
    pool = pool or pool_for(config)
    if isinstance(pool, Outline):
        available, num_classes = np.asarray(pool.available), pool.num_classes
    else:
        available, num_classes = np.bincount(pool.y_train, minlength=pool.num_classes), pool.num_classes
    n_max = config.n_max or int(available.min()) - config.val_per_class
    if n_max < 1:
        raise ProcrustesError(
            f"val_per_class={config.val_per_class}: leaves no training samples (at most {int(available.min()) - 1})"
        )
    if config.profile == "custom" and config.counts is not None and len(config.counts) != num_classes:
        raise ProcrustesError(
            f"counts={shown(config.counts)}: dataset {config.dataset!r} has {num_classes} classes, "
            f"got {len(config.counts)} counts"
        )
    return class_counts(n_max, num_classes, config.profile, config.ratio, config.counts)


def _balanced(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Indices keeping the same number of samples (the smallest class's) in every class."""
    k = int(np.bincount(y, minlength=num_classes).min())
    return np.sort(np.concatenate([np.flatnonzero(y == c)[:k] for c in range(num_classes)]))


def build_data(config: TrainConfig) -> Data:
    """The imbalanced training set, balanced test set and optional balanced validation set."""
    pool = pool_for(config)
    counts = counts_for(config, pool)
    seed = config.seed if config.data_seed is None else config.data_seed
    rng = np.random.default_rng([seed, 7])  # its own stream: the subset never shifts the training RNG
    if config.val_per_class:
        val_idx = subsample(pool.y_train, [config.val_per_class] * pool.num_classes, rng)
        rest = np.setdiff1d(np.arange(len(pool.y_train)), val_idx)
    else:
        val_idx, rest = np.array([], dtype=np.int64), np.arange(len(pool.y_train))
    train_idx = rest[subsample(pool.y_train[rest], counts, rng)]
    test_idx = _balanced(pool.y_test, pool.num_classes)

    def tensors(x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(np.ascontiguousarray(x[idx])), torch.from_numpy(y[idx])

    x_train, y_train = tensors(pool.x_train, pool.y_train, train_idx)
    x_test, y_test = tensors(pool.x_test, pool.y_test, test_idx)
    x_val, y_val = tensors(pool.x_train, pool.y_train, val_idx) if len(val_idx) else (None, None)
    return Data(pool.name, x_train, y_train, x_test, y_test, x_val, y_val, counts,
                class_groups(counts), pool.class_names, pool.kind)
