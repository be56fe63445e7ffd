"""Shared test set-up: a private dataset cache and few torch threads."""

from __future__ import annotations

import os
import tempfile

import pytest
import torch

# A fresh cache per test session, so tests never depend on files left by earlier runs.
os.environ.setdefault("PROCRUSTES_CACHE", tempfile.mkdtemp(prefix="procrustes-test-cache-"))
torch.set_num_threads(1)


@pytest.fixture
def tiny():
    """A small, fast config: MNIST-1D, step imbalance 10, a narrow CNN, two epochs, one thread."""
    from procrustes_core import TrainConfig

    return TrainConfig(n_samples=2000, ratio=10, width=8, epochs=2, batch_size=64, threads=1)
