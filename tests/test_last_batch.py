"""A tiny last mini-batch with BatchNorm is warned of before training, in one line naming the numbers."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from procrustes_core import Trainer, build_data
from procrustes_core.methods.samplers import (
    SMALL_LAST_BATCH,
    PowerSampler,
    RandomOverSampler,
    RandomUnderSampler,
    Sampler,
    last_batch_warning,
)
from procrustes_core.training.stacked import StackedTrainer


def test_a_last_mini_batch_of_7_with_batchnorm_is_named_with_a_batch_size_that_fixes_it():
    told = last_batch_warning(3975, 128, batchnorm=True)
    assert told is not None and "\n" not in told
    assert "3975 samples ends with a mini-batch of 7 (batch size 128)" in told
    better = int(told.split("choose batch size ")[1].split(" ")[0])
    assert 3975 % better >= SMALL_LAST_BATCH * better  # the suggestion does not warn again
    assert last_batch_warning(3975, better, batchnorm=True) is None


@pytest.mark.parametrize("epoch, batch, batchnorm", [(3975, 128, False), (4000, 128, True), (4096, 128, True),
                                                     (100, 128, True)])
def test_no_warning_without_batchnorm_or_with_a_large_or_no_remainder(epoch, batch, batchnorm):
    assert last_batch_warning(epoch, batch, batchnorm) is None  # 4000 % 128 = 32, a quarter: not small


@pytest.mark.parametrize("sampler", [Sampler(), PowerSampler(0.0), PowerSampler(0.5), RandomOverSampler(),
                                     RandomUnderSampler()])
def test_each_samplers_epoch_size_is_the_length_of_its_order(sampler):
    labels = torch.tensor([0] * 50 + [1] * 7 + [2] * 3)
    order = sampler.order(labels, torch.Generator().manual_seed(0))
    assert sampler.epoch_size([50, 7, 3]) == len(order)


def _tiny_last_batch(tiny) -> tuple[object, object]:
    """``tiny`` with a batch size that leaves a last mini-batch under a quarter of it, and its data."""
    data = build_data(tiny)
    n = len(data.y_train)
    batch = next(b for b in range(32, n) if 0 < n % b < SMALL_LAST_BATCH * b)
    return dataclasses.replace(tiny, batch_size=batch), data


def test_the_trainer_warns_before_its_first_epoch_with_batchnorm_only(tiny):
    config, data = _tiny_last_batch(tiny)
    warned = Trainer(config, data).history.warnings
    assert len(warned) == 1 and f"(batch size {config.batch_size})" in warned[0]
    plain = dataclasses.replace(config, norm="none")
    assert Trainer(plain, build_data(plain)).history.warnings == []


def test_every_stacked_seed_is_warned_before_its_first_epoch(tiny):
    config, _ = _tiny_last_batch(tiny)
    stacked = StackedTrainer(config, [0, 1])
    assert all(len(h.warnings) == 1 and "ends with a mini-batch of" in h.warnings[0]
               for h in stacked.histories.values())


def test_the_page_warns_before_training_from_the_settings_alone():
    from app.components.run_view import last_batch_note
    from procrustes_core import TrainConfig
    from procrustes_core.data.datasets import counts_for, outline

    config = TrainConfig(dataset="digits", ratio=5, model="cnn2d", batch_size=128)
    found = outline(config)
    counts = counts_for(config, found)
    told = last_batch_note(config, counts, found.input_shape)
    assert told is not None and f"each epoch of {sum(counts)} samples" in told
    assert last_batch_note(dataclasses.replace(config, model="mlp"), counts, found.input_shape) is None


def test_the_command_line_warns_once_before_training(tiny, tmp_path, capsys):
    from procrustes_core.cli import main

    config, _ = _tiny_last_batch(dataclasses.replace(tiny, epochs=1))
    args = ["train", "--n-samples", str(config.n_samples), "--ratio", str(config.ratio), "--width", str(config.width),
            "--epochs", "1", "--threads", "1", "--batch-size", str(config.batch_size), "--quiet",
            "--out", str(tmp_path / "run.json")]
    assert main(args) == 0
    told = [line for line in capsys.readouterr().err.splitlines() if "ends with a mini-batch of" in line]
    assert len(told) == 1 and told[0].startswith("warning: each epoch of")
