"""Procrustes core: imbalanced data, Procrustean training (major feature weakening), per-class
diagnostics recorded epoch by epoch, run histories and figures."""

from .config import TrainConfig, field_help, field_names
from .data import Data, build_data, counts_for, load_pool
from .errors import ProcrustesError, TrainingDiverged
from .history import EpochRecord, RunHistory
from .imbalance import class_counts, class_groups
from .trainer import Trainer, evaluate, run, train

__all__ = [
    "Data",
    "EpochRecord",
    "ProcrustesError",
    "RunHistory",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "build_data",
    "class_counts",
    "class_groups",
    "counts_for",
    "evaluate",
    "field_help",
    "field_names",
    "load_pool",
    "run",
    "train",
]
__version__ = "0.1.0"
