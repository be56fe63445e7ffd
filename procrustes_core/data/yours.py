"""Your own data for lessons and scripts: ``load_your_data`` reads a CSV, an NPZ or an image folder once
(a mistake is one line at once) and returns the config that trains on it with what it holds. The file
is read by the registry's ``your-data`` loader (``your_files.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .your_files import NAME, data_hash  # noqa: F401  (data_hash: re-exported for the fronts)


@dataclass
class YourData:
    """A learner's file, read and checked: the config that trains on it and what it holds."""

    config: Any  # TrainConfig
    class_names: list[str]
    train_counts: list[int]  # training samples per class before any reshaping (the natural imbalance)
    test_per_class: int
    kind: str
    input_shape: tuple[int, ...]
    content_hash: str

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {c}" for n, c in zip(self.class_names, self.train_counts))
        return (f"{self.config.data_path}: {self.kind} data {self.input_shape}, {len(self.class_names)} classes "
                f"({counts} to train; {self.test_per_class} of each to test)")


def load_your_data(path: str, label: str | None = None, drop: tuple[str, ...] | list[str] = (),
                   **settings: Any) -> YourData:
    """Read your CSV, NPZ or image folder once (a mistake is one line at once) and return the config that
    trains on it — natural imbalance unless ``settings`` name a profile — with its classes and sizes."""
    from ..config import TrainConfig
    from .datasets import pool_for

    config = TrainConfig(**{"profile": "natural", **settings, "dataset": NAME, "data_path": str(path),
                            "data_label": label, "data_drop": list(drop)})
    pool = pool_for(config)
    counts = np.bincount(pool.y_train, minlength=pool.num_classes)
    return YourData(config.replace(data_hash=pool.content_hash), list(pool.class_names), [int(c) for c in counts],
                    int(np.bincount(pool.y_test).min()), pool.kind, tuple(pool.x_train.shape[1:]), pool.content_hash)
