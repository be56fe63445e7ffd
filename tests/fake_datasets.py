"""Tiny dataset files in torchvision's own on-disk formats, written by tests."""

import os
import pickle
import struct

import numpy as np


def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x0800 | array.ndim
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic))
        f.write(struct.pack(">" + "I" * array.ndim, *array.shape))
        f.write(array.tobytes())


def fake_mnist(root, folder, per_class_train=12, per_class_test=4):
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, per_class in (("train", per_class_train), ("t10k", per_class_test)):
        labels = np.repeat(np.arange(10), per_class)
        images = rng.integers(0, 255, (len(labels), 28, 28))
        images[np.arange(len(labels)), labels, labels] = 255  # one bright pixel that tells the class
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)


def fake_cifar(root, per_class_train=6, per_class_test=2, classes=10):
    folder = root / ("cifar-10-batches-py" if classes == 10 else "cifar-100-python")
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    key = "labels" if classes == 10 else "fine_labels"

    def batch(per_class):
        labels = np.repeat(np.arange(classes), per_class)
        return {"data": rng.integers(0, 255, (len(labels), 3072), dtype=np.uint8), key: labels.tolist()}

    if classes == 10:
        for i in range(1, 6):
            with open(folder / f"data_batch_{i}", "wb") as f:
                pickle.dump(batch(per_class_train // 5 or 1), f)
        with open(folder / "test_batch", "wb") as f:
            pickle.dump(batch(per_class_test), f)
        with open(folder / "batches.meta", "wb") as f:
            pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, f)
    else:
        with open(folder / "train", "wb") as f:
            pickle.dump(batch(per_class_train), f)
        with open(folder / "test", "wb") as f:
            pickle.dump(batch(per_class_test), f)
        with open(folder / "meta", "wb") as f:
            pickle.dump({"fine_label_names": [f"c{i}" for i in range(100)]}, f)


def skip_cifar_checksums(monkeypatch) -> None:
    """Tiny files cannot match the md5 sums of the real archives: only the checksum test is replaced,
    everything else (finding, unpickling and decoding the batches) is torchvision's own code."""
    import torchvision

    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda path, md5=None: os.path.isfile(path))
