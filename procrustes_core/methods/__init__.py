"""Methods for imbalanced training, each a small object acting at one hook of the training loop."""

from .mfw import MajorFeatureWeakening, count_weights, progress_weights, strength_at
from .posthoc import adjust_logits, log_prior

__all__ = [
    "MajorFeatureWeakening",
    "adjust_logits",
    "count_weights",
    "log_prior",
    "progress_weights",
    "strength_at",
]
