"""Datasets as in-memory tensors: a registered dataset's balanced pool, then an imbalanced training
subset of it.

Which datasets there are, what they hold and how each is loaded is the registry's (``registry.py``);
this module caches a loaded pool, outlines a pool without loading it, and cuts the run's imbalanced
training subset. Imbalance is applied to the training split only; the test split is trimmed to the
same number of samples in every class.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import TrainConfig
from ..errors import ProcrustesError, shown
from .imbalance import class_counts, class_groups, subsample
from .loaders import POOL_SEED, Pool, cache_dir, toy2d_points  # noqa: F401  (re-exported: the app and lessons use them)
from .registry import LoadOptions, dataset_entry


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


@dataclass(frozen=True)
class Outline:
    """What a dataset's pool looks like, known before (or without) building it."""

    input_shape: tuple[int, ...]
    num_classes: int
    available: tuple[int, ...]  # training samples per class in the pool
    test_per_class: int
    exact: bool  # False: estimated from the generator's proportions (the data are not generated yet)




def outline(config: TrainConfig) -> Outline:
    """The pool's shape and class sizes: exact when the pool is in memory or cached on disk, else
    estimated from the registry's entry — so a page can price a training and draw its class counts
    without generating (or downloading) anything. Datasets read from a folder give the smallest class
    of their standard splits."""
    entry = dataset_entry(config.dataset)
    classes = len(entry.class_names(config.toy_shape))
    if entry.train_per_class:
        return Outline(entry.shape, classes, (entry.train_per_class,) * classes, entry.test_per_class, False)
    if entry.generated and entry.cached_labels is not None:
        labels = entry.cached_labels(LoadOptions(config.n_samples, config.toy_shape))
        if labels is not None:
            train, test = (np.bincount(y, minlength=classes) for y in labels)
            return Outline(entry.shape, classes, tuple(int(c) for c in train), int(test.min()), True)
        train_total = int(config.n_samples * entry.train_share)
        return Outline(entry.shape, classes, (train_total // classes,) * classes,
                       (config.n_samples - train_total) // classes, False)
    pool = pool_for(config)  # small and quick (digits: 1,797 images; toy2d: 2-D points)
    train, test = np.bincount(pool.y_train), np.bincount(pool.y_test)
    return Outline(tuple(pool.x_train.shape[1:]), pool.num_classes, tuple(int(c) for c in train),
                   int(test.min()), True)


@functools.lru_cache(maxsize=8)
def load_pool(dataset: str, n_samples: int = 20_000, toy_shape: str = "spiral",
              data_dir: str | None = None, download: bool = False, data_path: str | None = None,
              data_label: str | None = None, data_drop: tuple[str, ...] = (), data_hash: str | None = None,
              stamp: tuple = ()) -> Pool:
    """The dataset before imbalance, by its registry entry's loader (cached in memory for all runs of this
    process; ``stamp`` tells a changed file apart). Class names are the files' own where the files name them."""
    entry = dataset_entry(dataset)
    pool = entry.load(LoadOptions(n_samples, toy_shape, data_dir, download, data_path, data_label, data_drop,
                                  data_hash))
    expected = len(entry.class_names(toy_shape))
    if pool.num_classes != expected and not entry.from_path:
        raise ProcrustesError(f"dataset={dataset!r}: the files hold {pool.num_classes} classes, the dataset has "
                              f"{expected}")
    return pool


def pool_for(config: TrainConfig) -> Pool:
    if not dataset_entry(config.dataset).from_path:
        return load_pool(config.dataset, config.n_samples, config.toy_shape, config.data_dir, config.download)
    return load_pool(config.dataset, data_path=config.data_path, data_label=config.data_label,
                     data_drop=tuple(config.data_drop), data_hash=config.data_hash, stamp=_stamp(config.data_path))


def _stamp(path: str | None) -> tuple:
    """When a file (or an image folder and its class folders) last changed, and its size."""
    try:
        found = Path(str(path)).expanduser()
        items = [found, *sorted(found.iterdir())] if found.is_dir() else [found]
        return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in items)
    except (OSError, ValueError):
        return ()  # the loader names what is wrong with the path


def class_names_for(config: TrainConfig) -> list[str]:
    """The class names of a run's dataset: the registry's, or your file's (read once, then cached)."""
    if dataset_entry(config.dataset).from_path:
        return list(pool_for(config).class_names)
    return list(dataset_entry(config.dataset).class_names(config.toy_shape))


def per_class_test_samples(config: TrainConfig) -> list[int]:
    """Test samples per class of a run (the test split is balanced: the same number in every class)."""
    found = outline(config)
    return [found.test_per_class] * found.num_classes


def counts_for(config: TrainConfig, pool: Pool | Outline | None = None) -> list[int]:
    """The training count of every class that ``config`` asks for (from the pool, or its outline)."""
    pool = pool or pool_for(config)
    if isinstance(pool, Outline):
        available, num_classes = np.asarray(pool.available), pool.num_classes
    else:
        available, num_classes = np.bincount(pool.y_train, minlength=pool.num_classes), pool.num_classes
    if config.profile == "natural":  # the data's own imbalance, every class less its validation samples
        left = available - config.val_per_class
        if left.min() < 1:
            raise ProcrustesError(f"val_per_class={config.val_per_class}: leaves no training samples (at most "
                                  f"{int(available.min()) - 1})")
        return [int(min(c, config.n_max or c)) for c in left]
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
