"""Operator limits of a shared app server, read from environment variables, and the training slots.

    PROCRUSTES_MAX_EPOCHS            most epochs one run may ask for            (default 200)
    PROCRUSTES_MAX_TRAIN_SAMPLES     most training samples one run may use      (default 60000)
    PROCRUSTES_MAX_TRAININGS         trainings running at once on the server    (default 4)
    PROCRUSTES_THREADS_PER_TRAINING  most torch threads one training may use    (default: CPU cores, at most 4)
    PROCRUSTES_DATA_DIR              folder of torchvision datasets (mnist, fashion-mnist, cifar10/100)
    PROCRUSTES_ALLOW_DOWNLOAD        1: torchvision may download a missing dataset into that folder

The data folder and downloads are server settings: a link can never point the server elsewhere.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import torch

from procrustes_core import ProcrustesError, TrainConfig, counts_for

STALE_SECONDS = 60.0  # a slot not touched this long belongs to a closed browser tab


@dataclass(frozen=True)
class Limits:
    max_epochs: int = 200
    max_train_samples: int = 60_000
    max_trainings: int = 4
    threads_per_training: int = max(1, min(4, os.cpu_count() or 1))
    data_dir: str | None = None
    allow_download: bool = False


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ProcrustesError(f"{name}={raw!r}: expected a whole number ≥ 1") from None
    if value < 1:
        raise ProcrustesError(f"{name}={raw!r}: expected a whole number ≥ 1")
    return value


def read_limits() -> Limits:
    """The limits from the environment (a bad value is a ProcrustesError naming the variable)."""
    base = Limits()
    return Limits(
        max_epochs=_env_int("PROCRUSTES_MAX_EPOCHS", base.max_epochs),
        max_train_samples=_env_int("PROCRUSTES_MAX_TRAIN_SAMPLES", base.max_train_samples),
        max_trainings=_env_int("PROCRUSTES_MAX_TRAININGS", base.max_trainings),
        threads_per_training=_env_int("PROCRUSTES_THREADS_PER_TRAINING", base.threads_per_training),
        data_dir=os.environ.get("PROCRUSTES_DATA_DIR") or None,
        allow_download=os.environ.get("PROCRUSTES_ALLOW_DOWNLOAD", "").strip().lower() in ("1", "true", "yes"),
    )


def server_settings(config: TrainConfig, limits: Limits) -> TrainConfig:
    """The config with the server's data folder and download permission (never the link's)."""
    if config.data_dir == limits.data_dir and config.download == limits.allow_download:
        return config
    return config.replace(data_dir=limits.data_dir, download=limits.allow_download)


def check_run(config: TrainConfig, limits: Limits) -> None:
    """Raise a one-line ProcrustesError when ``config`` asks for more than this server allows."""
    if config.epochs > limits.max_epochs:
        raise ProcrustesError(f"epochs={config.epochs}: this server allows at most {limits.max_epochs} "
                              "(PROCRUSTES_MAX_EPOCHS)")
    total = sum(counts_for(config))
    if total > limits.max_train_samples:
        raise ProcrustesError(f"{total} training samples: this server allows at most {limits.max_train_samples} "
                              "per run (PROCRUSTES_MAX_TRAIN_SAMPLES); raise the ratio or lower n_max / n_samples")


class TrainingSlots:
    """Which browser sessions are training right now, shared by all sessions of the server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}

    def _drop_stale(self, now: float) -> None:
        for owner in [o for o, t in self._seen.items() if now - t > STALE_SECONDS]:
            del self._seen[owner]

    def acquire(self, owner: str, limit: int) -> bool:
        """Take a slot for ``owner`` (keeping one it holds); False when ``limit`` are busy."""
        now = time.monotonic()
        with self._lock:
            self._drop_stale(now)
            if owner not in self._seen and len(self._seen) >= limit:
                return False
            self._seen[owner] = now
            return True

    def touch(self, owner: str) -> None:
        with self._lock:
            if owner in self._seen:
                self._seen[owner] = time.monotonic()

    def release(self, owner: str) -> None:
        with self._lock:
            self._seen.pop(owner, None)

    def active(self) -> int:
        with self._lock:
            self._drop_stale(time.monotonic())
            return len(self._seen)


SLOTS = TrainingSlots()  # module state: one per server process, shared by every session


def set_threads(limits: Limits) -> int:
    """Give this training a fair share of the CPU cores: all trainings together use about the
    machine's cores, none more than ``threads_per_training``. Returns the count set."""
    cores = os.cpu_count() or 1
    share = max(1, cores // max(1, SLOTS.active()))
    threads = max(1, min(limits.threads_per_training, share))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
