"""What a training run reports while it trains: a ``StepEvent`` every few mini-batches, and an
``EpochRecord`` (analysis/history.py) at the end of every epoch, after its evaluation passes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class StepEvent:
    """Progress inside an epoch, between two optimiser steps (never halfway through one).

    ``train_acc`` and ``loss`` are running values over this epoch's mini-batches so far, as they were
    trained (in train mode, with mixing if the run mixes) — cheap, and noisier than the epoch
    record's evaluation on the un-mixed training set. A class not seen yet this epoch has ``None``.
    """

    epoch: int  # 1-based epoch in progress
    batch: int  # mini-batches done in this epoch
    batches: int  # mini-batches in this epoch
    loss: float  # mean training objective over this epoch's batches so far
    train_acc: list[float | None]  # per class: share of this epoch's samples so far predicted right
    seen: list[int]  # per class: samples seen so far this epoch
    seconds: float  # training time of the run so far

    @property
    def progress(self) -> float:
        """How far the epoch has gone, 0..1."""
        return self.batch / self.batches if self.batches else 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
