"""The CIFAR-LT recipe: presets, the step learning-rate schedule, batch augmentation, a tiny epoch."""

import pytest
import torch
from fake_datasets import fake_cifar, skip_cifar_checksums

from procrustes_core import ProcrustesError, Trainer, class_counts, counts_for, run
from procrustes_core.analysis.history import RunHistory
from procrustes_core.cli import main
from procrustes_core.data.augment import CropFlip
from procrustes_core.methods.schedules import learning_rate
from procrustes_core.presets import PRESETS, preset_config


def test_paper_preset_holds_the_long_tail_recipe():
    config = preset_config("cifar10-lt-paper", data_dir="/data")
    assert (config.model, config.epochs, config.batch_size) == ("resnet32", 200, 128)
    assert (config.lr, config.momentum) == (0.1, 0.9)
    assert (config.weight_decay, config.lr_schedule, config.augment) == (2e-4, "step-warmup", "crop-flip")
    assert (config.dataset, config.profile, config.ratio) == ("cifar10", "longtail", 100)
    assert set(PRESETS) >= {"cifar10-lt-paper", "cifar100-lt-paper"}


def test_unknown_preset_is_named():
    with pytest.raises(ProcrustesError, match="preset='imagenet'"):
        preset_config("imagenet")


def test_step_schedule_warms_up_then_drops_at_160_and_180():
    c = preset_config("cifar10-lt-paper")
    lrs = {e: learning_rate(c.lr_schedule, c.lr, e, c.epochs) for e in (0, 1, 4, 5, 159, 160, 179, 180, 199)}
    assert lrs[0] == pytest.approx(0.02) and lrs[1] == pytest.approx(0.04) and lrs[4] == pytest.approx(0.1)
    assert lrs[5] == lrs[159] == 0.1
    assert lrs[160] == lrs[179] == pytest.approx(1e-3)
    assert lrs[180] == lrs[199] == pytest.approx(1e-5)


def test_crop_flip_takes_a_shifted_and_maybe_mirrored_window_of_each_image():
    x = torch.randn(64, 3, 8, 8)
    out = CropFlip(padding=2, seed=0)(x)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    flipped = 0
    for i in range(64):
        windows = [padded[i, :, dy:dy + 8, dx:dx + 8] for dy in range(5) for dx in range(5)]
        plain = any(torch.equal(out[i], w) for w in windows)
        mirrored = any(torch.equal(out[i], w.flip(2)) for w in windows)
        assert plain or mirrored
        flipped += mirrored and not plain
    assert 15 < flipped < 49  # about half are mirrored


def test_crop_flip_refuses_data_that_are_not_images(tiny):
    with pytest.raises(ProcrustesError, match="augment='crop-flip': needs images"):
        Trainer(tiny.replace(augment="crop-flip"))


@pytest.fixture
def fake_cifar10(tmp_path, monkeypatch):
    skip_cifar_checksums(monkeypatch)
    fake_cifar(tmp_path, per_class_train=10, per_class_test=2)
    return tmp_path


def test_preset_counts_follow_the_formula(fake_cifar10):
    config = preset_config("cifar10-lt-paper", data_dir=str(fake_cifar10))
    assert counts_for(config) == class_counts(10, 10, "longtail", 100)


def test_one_tiny_epoch_of_the_recipe_runs_on_cpu(fake_cifar10):
    config = preset_config("cifar10-lt-paper", data_dir=str(fake_cifar10), ratio=5.0, epochs=1, width=4,
                           threads=1, mixer="mfw", mfw_strength=0.5)
    history = run(config)
    assert len(history.records) == 1
    assert history.last.lr == 0.1  # a run this short has no warm-up; the drops come at 80 % and 90 %


def test_cli_trains_from_a_preset(fake_cifar10, tmp_path):
    out = tmp_path / "run.json"
    code = main(["train", "--preset", "cifar10-step-paper", "--data-dir", str(fake_cifar10), "--epochs", "1",
                 "--width", "4", "--ratio", "5", "--threads", "1", "--quiet", "--out", str(out)])
    assert code == 0
    config = RunHistory.load(out).config
    assert config.profile == "step" and config.augment == "crop-flip" and config.epochs == 1
