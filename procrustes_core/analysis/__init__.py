"""Analysis of predictions and runs: per-class metrics and scores (``metrics.py``), run histories
(``history.py``), the phases of training (``phases.py``), paired comparisons over seeds
(``compare.py``) and decision regions on 2-D data (``boundary.py``)."""

from .._lazy import lazy_exports

_EXPORTS = {
    "Scores": ".metrics", "accuracy": ".metrics", "balanced_accuracy": ".metrics", "confusion_matrix": ".metrics",
    "group_means": ".metrics", "per_class_mean": ".metrics", "per_class_scores": ".metrics",
    "EpochRecord": ".history", "RunHistory": ".history",
    "Phase": ".phases", "find_phases": ".phases", "underfit_span": ".phases", "overfit_span": ".phases",
    "underfit_epochs": ".phases", "overfit_epochs": ".phases",
    "PairedComparison": ".compare", "paired_comparison": ".compare", "mean_interval": ".compare",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
