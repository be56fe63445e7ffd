"""Datasets: embedded ones, torchvision's on-disk formats, and imbalance applied to training only."""

import numpy as np
import pytest
import torch
from fake_datasets import fake_cifar, fake_mnist, skip_cifar_checksums

from procrustes_core import ProcrustesError, TrainConfig, build_data, counts_for
from procrustes_core.data import load_pool


def test_mnist1d_is_generated_and_cached_as_npz(tmp_path, monkeypatch):
    monkeypatch.setenv("PROCRUSTES_CACHE", str(tmp_path))
    load_pool.cache_clear()
    state = np.random.get_state()[1].copy()
    pool = load_pool("mnist1d", 1000)
    assert pool.x_train.shape == (800, 1, 40) and pool.num_classes == 10
    assert (tmp_path / "mnist1d-1000.npz").exists()
    assert np.array_equal(state, np.random.get_state()[1]), "generation must not reseed NumPy's global RNG"
    load_pool.cache_clear()
    again = load_pool("mnist1d", 1000)
    assert np.array_equal(pool.x_test, again.x_test)


def test_step_imbalance_applies_to_training_only_and_test_is_balanced():
    config = TrainConfig(n_samples=2000, ratio=10, threads=1)
    data = build_data(config)
    counts = np.bincount(data.y_train.numpy(), minlength=10).tolist()
    assert counts == data.counts == counts_for(config)
    assert counts[:5] == [counts[0]] * 5 and counts[5:] == [counts[0] // 10] * 5
    test_counts = np.bincount(data.y_test.numpy(), minlength=10)
    assert len(set(test_counts.tolist())) == 1 and test_counts[0] > 0
    assert data.groups == {"major": [0, 1, 2, 3, 4], "minor": [5, 6, 7, 8, 9]}


def test_subset_depends_on_data_seed_not_on_the_global_rng():
    config = TrainConfig(n_samples=2000, ratio=10)
    torch.manual_seed(123)
    np.random.seed(5)
    a = build_data(config)
    torch.manual_seed(999)
    np.random.seed(6)
    b = build_data(config)
    c = build_data(config.replace(data_seed=77))
    assert torch.equal(a.x_train, b.x_train)
    assert not torch.equal(a.x_train, c.x_train)


def test_validation_split_is_balanced_and_disjoint_from_training():
    data = build_data(TrainConfig(n_samples=2000, ratio=10, val_per_class=20))
    assert np.bincount(data.y_val.numpy()).tolist() == [20] * 10
    train_rows = {tuple(r) for r in data.x_train.flatten(1).numpy().round(5)}
    assert not any(tuple(r) in train_rows for r in data.x_val.flatten(1).numpy().round(5))


def test_longtail_counts_and_groups():
    data = build_data(TrainConfig(n_samples=2000, profile="longtail", ratio=10))
    assert data.counts == sorted(data.counts, reverse=True)
    assert data.counts[-1] == int(data.counts[0] * (1 / 10) ** (9 / 9))
    assert set(data.groups) == {"many", "medium", "few"}


def test_digits_and_toy2d_are_embedded():
    digits = build_data(TrainConfig(dataset="digits", ratio=5))
    assert digits.input_shape == (1, 8, 8) and digits.num_classes == 10
    for shape, classes in (("moons", 2), ("blobs", 6), ("spiral", 4)):
        toy = build_data(TrainConfig(dataset="toy2d", toy_shape=shape, n_samples=1200, ratio=5))
        assert toy.input_shape == (2,) and toy.num_classes == classes


def test_asking_for_more_samples_than_exist_is_a_clear_error():
    with pytest.raises(ProcrustesError, match="n_max|training samples"):
        build_data(TrainConfig(n_samples=1000, n_max=5000))


def test_custom_counts_must_match_the_number_of_classes():
    with pytest.raises(ProcrustesError, match="10 classes"):
        counts_for(TrainConfig(n_samples=1000, profile="custom", counts=[5, 5, 5]))


# ---------------------------------------------------------------- torchvision formats


@pytest.mark.parametrize("dataset, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_formats_load_through_torchvision(tmp_path, dataset, folder):
    fake_mnist(tmp_path, folder)
    data = build_data(TrainConfig(dataset=dataset, data_dir=str(tmp_path), ratio=4))
    assert data.input_shape == (1, 28, 28)
    assert data.counts == [12] * 5 + [3] * 5
    assert np.bincount(data.y_test.numpy()).tolist() == [4] * 10
    assert abs(float(data.x_train.mean())) < 0.2  # standardised


@pytest.mark.parametrize("dataset, classes", [("cifar10", 10), ("cifar100", 100)])
def test_cifar_formats_load_through_torchvision(tmp_path, monkeypatch, dataset, classes):
    skip_cifar_checksums(monkeypatch)
    fake_cifar(tmp_path, per_class_train=10, per_class_test=2, classes=classes)
    data = build_data(TrainConfig(dataset=dataset, data_dir=str(tmp_path), ratio=2, profile="step"))
    assert data.input_shape == (3, 32, 32) and data.num_classes == classes
    assert data.class_names[0] == "c0"


def test_missing_dataset_folder_is_one_line(tmp_path):
    with pytest.raises(ProcrustesError, match="no such folder") as err:
        build_data(TrainConfig(dataset="mnist", data_dir=str(tmp_path / "missing")))
    assert "\n" not in str(err.value)


def test_folder_without_the_files_says_so(tmp_path):
    with pytest.raises(ProcrustesError, match="MNIST not found"):
        build_data(TrainConfig(dataset="mnist", data_dir=str(tmp_path)))


def test_torchvision_dataset_without_folder_asks_for_one():
    with pytest.raises(ProcrustesError, match="data_dir"):
        build_data(TrainConfig(dataset="cifar10"))
