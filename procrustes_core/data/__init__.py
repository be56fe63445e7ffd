"""Data: the dataset registry (``registry.py``, one entry per dataset, with its loader in
``loaders.py``), datasets as in-memory tensors (``datasets.py``), imbalance profiles and class groups
(``imbalance.py``), and on-device augmentation (``augment.py``)."""

from .._lazy import lazy_exports

_EXPORTS = {
    "Data": ".datasets", "Pool": ".datasets", "build_data": ".datasets", "counts_for": ".datasets",
    "load_pool": ".datasets", "Outline": ".datasets", "outline": ".datasets", "pool_for": ".datasets",
    "cache_dir": ".datasets", "toy2d_points": ".datasets",
    "DATASETS": ".registry", "Dataset": ".registry", "LoadOptions": ".registry", "class_names": ".registry",
    "dataset_entry": ".registry", "register": ".registry",
    "class_counts": ".imbalance", "class_groups": ".imbalance", "head_and_tail": ".imbalance",
    "head_name": ".imbalance", "tail_name": ".imbalance", "subsample": ".imbalance",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
