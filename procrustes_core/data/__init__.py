"""Data: the dataset registry (``registry.py``, one entry per dataset, with its loader in
``loaders.py``, ``shipped.py`` for data inside installed packages, ``your_files.py`` for your own
file), datasets as in-memory tensors (``datasets.py``), your own data for lessons (``yours.py``),
imbalance profiles and class groups (``imbalance.py``), and on-device augmentation (``augment.py``)."""

from .._lazy import lazy_exports

_EXPORTS = {
    "Data": ".datasets", "Pool": ".datasets", "build_data": ".datasets", "counts_for": ".datasets",
    "load_pool": ".datasets", "Outline": ".datasets", "outline": ".datasets", "pool_for": ".datasets",
    "cache_dir": ".datasets", "toy2d_points": ".datasets",
    "DATASETS": ".registry", "Dataset": ".registry", "LoadOptions": ".registry", "class_names": ".registry",
    "dataset_entry": ".registry", "register": ".registry",
    "class_names_for": ".datasets", "per_class_test_samples": ".datasets",
    "YourData": ".yours", "load_your_data": ".yours", "data_hash": ".your_files", "dataset_rows": ".registry",
    "class_counts": ".imbalance", "class_groups": ".imbalance", "head_and_tail": ".imbalance",
    "head_name": ".imbalance", "tail_name": ".imbalance", "subsample": ".imbalance",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
