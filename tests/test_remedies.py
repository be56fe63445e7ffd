"""Remedies beyond losses and samplers: augmentation, squeeze-and-excitation, BBN, checkpoints
(fine-tuning, linear probe) and classifier re-training — each against its formula, in the trainer,
and refused in one line when the input is wrong."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from procrustes_core import ProcrustesError, TrainConfig, Trainer, build_data
from procrustes_core.data.augment import (
    OPS,
    Affine,
    Amplitude,
    Noise,
    Shift,
    TimeWarp,
    augmentation_examples,
    build_augment,
    class_probabilities,
)
from procrustes_core.methods.bbn import CumulativeLearning, ReversedSampler, alpha_at
from procrustes_core.methods.catalogue import AUGMENTS, check_combination
from procrustes_core.methods.losses import build_loss
from procrustes_core.models import SqueezeExcitation, TwoBranchNet, build_model, mlp
from procrustes_core.training.checkpoint import load_checkpoint

BASE = TrainConfig(n_samples=1000, ratio=10, width=8, epochs=2, batch_size=64, threads=1, device="cpu")


@pytest.fixture(scope="module")
def data():
    return build_data(BASE)


# ---------------------------------------------------------------- augmentation: the operations


def test_the_augmentation_table_is_the_config_choices():
    assert {name: kinds for name, (kinds, _) in OPS.items()} == AUGMENTS


def test_circular_shift_rolls_each_signal_and_the_padded_shift_lets_zeros_in():
    x = torch.arange(20.0).reshape(1, 1, 20).repeat(8, 1, 1)
    rolled = Shift(0.2, circular=True, seed=0)(x)
    for row in rolled:
        assert any(torch.equal(row, torch.roll(x[0], s, dims=1)) for s in range(-4, 5)), row
    padded = Shift(0.2, circular=False, seed=0)(x)
    for row, full in zip(padded, rolled):
        s = next(s for s in range(-4, 5) if torch.equal(full, torch.roll(x[0], s, dims=1)))
        expected = torch.roll(x[0], s, dims=1)
        if s > 0:
            expected[:, :s] = 0
        elif s < 0:
            expected[:, s:] = 0
        assert torch.equal(row, expected)


def test_amplitude_scales_each_signal_by_one_factor_in_its_range():
    x = torch.randn(32, 2, 10) + 3
    out = Amplitude(0.8, 1.2, seed=1)(x)
    ratio = out / x
    assert torch.allclose(ratio, ratio[:, :1, :1].expand_as(ratio), atol=1e-5)
    assert ((ratio >= 0.8 - 1e-6) & (ratio <= 1.2 + 1e-6)).all()


def test_noise_has_the_asked_spread_relative_to_the_batch():
    x = 3 * torch.randn(64, 1, 100)
    added = Noise(0.05, seed=2)(x) - x
    assert float(added.std()) == pytest.approx(0.05 * float(x.std()), rel=0.05)


def test_time_warp_keeps_both_ends_moves_monotonically_and_is_the_identity_without_strength():
    warp = TimeWarp(knots=4, strength=0.2, seed=3)
    position = warp.positions(16, 40, torch.device("cpu"))
    assert torch.allclose(position[:, 0], torch.zeros(16)) and torch.allclose(position[:, -1], torch.full((16,), 39.0))
    assert (position.diff(dim=1) > 0).all()
    x = torch.randn(5, 1, 40)
    assert torch.allclose(TimeWarp(strength=0.0, seed=0)(x), x, atol=1e-5)
    ramp = torch.linspace(0, 1, 40).reshape(1, 1, 40).repeat(5, 1, 1)
    warped = TimeWarp(seed=4)(ramp)  # a linear signal warped is the warp itself, rescaled
    assert (warped.diff(dim=2) > 0).all() and torch.allclose(warped[..., [0, -1]], ramp[..., [0, -1]], atol=1e-6)


def test_affine_without_rotation_or_scaling_is_the_identity_and_otherwise_moves_pixels():
    x = torch.randn(4, 3, 16, 16)
    assert torch.allclose(Affine(degrees=0.0, scale=(1.0, 1.0), seed=0)(x), x, atol=1e-5)
    theta = Affine(degrees=10, scale=(0.9, 1.1), seed=1).matrices(200, torch.device("cpu"))
    angle = torch.rad2deg(torch.atan2(theta[:, 1, 0], theta[:, 0, 0]))
    size = 1 / theta[:, 0, :2].norm(dim=1)
    assert angle.abs().max() <= 10 + 1e-4 and angle.abs().max() > 5
    assert size.min() >= 0.9 - 1e-5 and size.max() <= 1.1 + 1e-5
    assert not torch.allclose(Affine(seed=2)(x), x)


def test_class_probabilities_follow_all_minor_and_inverse():
    counts, groups = [100, 100, 10, 10], {"major": [0, 1], "minor": [2, 3]}
    assert class_probabilities("all", counts, groups) == [1.0] * 4
    assert class_probabilities("minor", counts, groups) == [0.0, 0.0, 1.0, 1.0]
    assert class_probabilities("inverse", [100, 50, 10], {"many": [0], "medium": [1], "few": [2]}) == pytest.approx(
        [0.0, 0.5, 0.9])
    assert class_probabilities("minor", [5, 5], {"all": [0, 1]}) == [1.0, 1.0]  # balanced: every class is the tail


# ---------------------------------------------------------------- augmentation: in a run


def test_minor_only_augmentation_changes_minor_samples_only_and_never_a_label(data):
    augment = build_augment("signal", data, seed=0, classes="minor")
    x, y = data.x_train[:400], data.y_train[:400].clone()
    out = augment(x, y)
    minor = torch.isin(y, torch.tensor(data.groups["minor"]))
    assert torch.equal(out[~minor], x[~minor])
    assert not torch.isclose(out[minor], x[minor]).all(dim=(1, 2)).any()
    assert torch.equal(y, data.y_train[:400])


def test_augmentation_probability_zero_changes_nothing_and_one_half_about_half(data):
    x, y = data.x_train, data.y_train
    assert torch.equal(build_augment("noise", data, prob=0.0)(x, y), x)
    changed = (build_augment("noise", data, prob=0.5)(x, y) != x).any(dim=(1, 2)).float().mean()
    assert 0.4 < float(changed) < 0.6
    largest = torch.tensor(data.counts).argmax()
    inverse = build_augment("amplitude", data, classes="inverse")(x, y)
    assert torch.equal(inverse[y == largest], x[y == largest])  # 1 − n_max / n_max = 0


def test_augmentation_is_seeded_and_never_shifts_the_batch_order(data):
    plain = Trainer(BASE.replace(epochs=1), data)
    augmented = Trainer(BASE.replace(epochs=1, augment="signal", augment_prob=0.7), data)
    again = Trainer(BASE.replace(epochs=1, augment="signal", augment_prob=0.7), data)
    first, second, third = (list(t.epochs())[-1] for t in (plain, augmented, again))
    assert torch.equal(plain.batch_rng.get_state(), augmented.batch_rng.get_state())
    assert first.train_loss != second.train_loss
    assert (second.train_loss, second.test_acc) == (third.train_loss, third.test_acc)


def test_crop_flip_runs_are_unchanged_by_the_new_options(data):
    digits = build_data(TrainConfig(dataset="digits", ratio=5))
    config = TrainConfig(dataset="digits", ratio=5, width=4, epochs=1, threads=1, augment="crop-flip")
    augment = build_augment("crop-flip", digits, seed=0)
    from procrustes_core.data.augment import CropFlip

    x = digits.x_train[:64]
    assert torch.equal(augment(x, digits.y_train[:64]), CropFlip(4, seed=17)(x))  # as before: seed + 17
    assert math.isfinite(list(Trainer(config.replace(augment="crop-flip-affine"), digits).epochs())[-1].train_loss)


def test_augmentation_examples_give_minor_samples_and_their_augmented_views(data):
    from procrustes_core.figures import augmentation_figure

    originals, augmented, labels = augmentation_examples(data, "signal", count=3)
    assert originals.shape == augmented.shape == (3, 1, 40)
    assert set(labels.tolist()) <= set(data.groups["minor"]) and not torch.allclose(originals, augmented)
    assert len(augmentation_figure(originals, augmented, labels, data.class_names).data) == 6


@pytest.mark.parametrize("changes, message", [
    ({"augment": "rotate"}, "augment='rotate': expected one of none, crop-flip"),
    ({"augment_classes": "tail"}, "augment_classes='tail': expected one of all, minor, inverse"),
    ({"augment_prob": 1.5}, "augment_prob=1.5: expected a finite number ≥ 0 and ≤ 1"),
    ({"augment_prob": -0.1}, "augment_prob=-0.1: expected a finite number ≥ 0 and ≤ 1"),
    ({"attention": "cbam"}, "attention='cbam': expected one of none, se"),
    ({"finetune": "partial"}, "finetune='partial': expected one of full, linear-probe"),
    ({"se_reduction": 0}, "se_reduction=0: expected an integer ≥ 1 and ≤ 64"),
    ({"classifier_retrain_epochs": -1}, "classifier_retrain_epochs=-1: expected an integer ≥ 0"),
])
def test_bad_remedy_settings_are_one_line(changes, message):
    with pytest.raises(ProcrustesError) as info:
        TrainConfig(**changes)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


# ---------------------------------------------------------------- squeeze-and-excitation


def test_squeeze_excitation_reweights_channels_by_the_formula():
    torch.manual_seed(0)
    se = SqueezeExcitation(8, reduction=4)
    h = torch.randn(3, 8, 10)
    s = torch.sigmoid(se.excite.weight @ torch.relu(se.squeeze.weight @ h.mean(2).T + se.squeeze.bias[:, None])
                      + se.excite.bias[:, None]).T
    assert se.squeeze.out_features == 2
    assert torch.allclose(se(h), h * s[:, :, None], atol=1e-6)
    image = torch.randn(2, 8, 4, 4)
    assert torch.allclose(se(image), image * se.weights(image)[:, :, None, None])


@pytest.mark.parametrize("model, shape, expected", [
    ("cnn1d", (1, 40), 3), ("cnn1d-s1", (1, 40), 3), ("cnn2d", (1, 8, 8), 3), ("resnet32", (3, 16, 16), 15)])
def test_se_sits_in_every_convolution_block(model, shape, expected):
    plain = build_model(model, shape, 10, 4, "image", "x")
    net = build_model(model, shape, 10, 4, "image", "x", attention="se", se_reduction=2)
    assert sum(isinstance(m, SqueezeExcitation) for m in net.modules()) == expected
    assert net(torch.randn(2, *shape)).shape == (2, 10)
    assert sum(p.numel() for p in net.parameters()) > sum(p.numel() for p in plain.parameters())


def test_se_on_the_mlp_is_refused_in_one_line(data):
    with pytest.raises(ProcrustesError, match="^attention='se' with model='mlp': squeeze-and-excitation"):
        mlp((2,), 4, 8, attention="se")
    with pytest.raises(ProcrustesError, match="^attention='se' with model='mlp'"):
        Trainer(BASE.replace(model="mlp", attention="se"), data)


@pytest.mark.parametrize("changes", [dict(attention="se"), dict(bbn=True, attention="se")])
def test_new_layers_are_drawn_from_the_run_seed_alone(data, changes):
    first = Trainer(BASE.replace(**changes), data).model.state_dict()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    second = Trainer(BASE.replace(**changes), data).model.state_dict()
    assert torch.equal(state, torch.get_rng_state())  # the global generator is left alone
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_the_methods_command_lists_the_remedies_by_kind(capsys):
    from procrustes_core.cli import main

    assert main(["methods", "--kind", "transfer"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("TRANSFER AND DECOUPLING") and all(n in text for n in ("finetune", "linear-probe", "crt"))
    assert "select:  --classifier-retrain-epochs 10" in text


# ---------------------------------------------------------------- BBN


def test_cumulative_learning_alpha_falls_as_a_parabola():
    assert [alpha_at(e, 4) for e in range(4)] == [1.0, 1 - 1 / 16, 0.75, 1 - 9 / 16]
    assert alpha_at(10, 10) == 0.0


def test_the_reversed_sampler_draws_classes_in_proportion_to_one_over_their_size():
    labels = torch.tensor([0] * 400 + [1] * 40 + [2] * 4)
    rng = torch.Generator().manual_seed(0)
    drawn = torch.cat([ReversedSampler().order(labels, rng) for _ in range(40)])
    share = torch.bincount(labels[drawn], minlength=3).double() / len(drawn)
    expected = torch.tensor([1 / 400, 1 / 40, 1 / 4]) / (1 / 400 + 1 / 40 + 1 / 4)
    assert torch.allclose(share, expected.double(), atol=0.01)


def test_bbn_logits_and_loss_follow_the_paper():
    torch.manual_seed(0)
    net = build_model("cnn1d", (1, 40), 5, 4, "signal", "mnist1d", two_branches=True).eval()
    x_c, x_r = torch.randn(6, 1, 40), torch.randn(6, 1, 40)
    y_c, y_r = torch.randint(0, 5, (6,)), torch.randint(0, 5, (6,))
    alpha = 0.3
    logits, loss = CumulativeLearning.objective(net, build_loss("ce", [5] * 5), None, 0.0, alpha, None,
                                                x_c, y_c, x_r, y_r)
    with torch.no_grad():
        f_c, f_r = net.branch_features(x_c, 0), net.branch_features(x_r, 1)
        w, b, d = net.head.weight, net.head.bias, net.branch_dim
        expected = 2 * (alpha * f_c @ w[:, :d].T + (1 - alpha) * f_r @ w[:, d:].T) + b
    assert torch.allclose(logits, expected, atol=1e-5)
    assert loss.item() == pytest.approx(float(alpha * F.cross_entropy(expected, y_c)
                                              + (1 - alpha) * F.cross_entropy(expected, y_r)), rel=1e-5)
    # at evaluation both branches see the input and alpha = 1/2
    x = torch.randn(4, 1, 40)
    assert torch.allclose(net(x), net.combine(net.branch_features(x, 0), net.branch_features(x, 1), 0.5), atol=1e-5)


def test_bbn_shares_the_early_blocks_and_doubles_the_last_one():
    net = build_model("cnn1d", (1, 40), 10, 8, "signal", "mnist1d", two_branches=True)
    assert isinstance(net, TwoBranchNet) and len(net.blocks) == 3 and len(net.branches) == 2
    assert net.num_positions == 5 and net.head.in_features == 2 * net.branch_dim == 64
    resnet = build_model("resnet32", (3, 16, 16), 10, 4, "image", "cifar10", two_branches=True)
    branch = resnet.branches[0]
    assert type(branch[0]).__name__ == "BasicBlock" and len(resnet.blocks[-1]) == 4  # one residual block each
    assert resnet(torch.randn(2, 3, 16, 16)).shape == (2, 10)


def test_a_bbn_run_hands_over_from_the_conventional_to_the_rebalancing_branch(data):
    trainer = Trainer(BASE.replace(epochs=4, bbn=True), data)
    records = list(trainer.epochs())
    assert [r.bbn_alpha for r in records] == [alpha_at(e, 4) for e in range(4)]
    for r in records:
        assert set(r.branch_test_acc) == {"conventional", "re-balancing"}
        assert all(len(v) == 10 for v in r.branch_test_acc.values())
    branches = trainer.model.branches
    assert not torch.equal(branches[0][1].weight, branches[1][1].weight)  # each branch its own weights
    series = trainer.history.branch_group_series()
    assert set(series["re-balancing"]) == {"major", "minor"} and len(series["conventional"]["minor"]) == 4
    from procrustes_core.figures import branch_curves

    assert len(branch_curves(trainer.history).data) == 5


@pytest.mark.parametrize("changes", [dict(mixer="mfw"), dict(mixer="mfw", mfw_layer="block2"), dict(mixer="remix"),
                                     dict(attention="se", augment="signal", augment_classes="minor"),
                                     dict(loss="ldam"), dict(loss="focal", mixer="mixup")])
def test_bbn_combines_with_mixers_attention_augmentation_and_losses(data, changes):
    record = list(Trainer(BASE.replace(epochs=1, bbn=True, **changes), data).epochs())[-1]
    assert math.isfinite(record.train_loss) and 0 <= record.balanced_acc <= 1


def test_bbn_with_a_sampler_it_cannot_combine_with_is_refused_before_any_data(tmp_path):
    config = TrainConfig(dataset="cifar10", data_dir=str(tmp_path / "none"), bbn=True, sampler="oversample")
    with pytest.raises(ProcrustesError, match="^bbn=true with sampler='oversample': BBN draws"):
        Trainer(config)


# ---------------------------------------------------------------- checkpoints, fine-tuning, the linear probe


@pytest.fixture(scope="module")
def balanced_checkpoint(tmp_path_factory):
    """A network pre-trained for one epoch on the balanced version of the module's dataset."""
    source = BASE.replace(ratio=1, epochs=1)
    trainer = Trainer(source)
    list(trainer.epochs())
    return trainer.save_checkpoint(tmp_path_factory.mktemp("pretrained") / "balanced.pt")


def test_a_checkpoint_holds_the_weights_and_a_json_able_header(balanced_checkpoint):
    import json

    checkpoint = load_checkpoint(balanced_checkpoint)
    header = checkpoint.header
    assert (header["model"], header["width"], header["norm"], header["num_classes"], header["dataset"]) == (
        "cnn1d", 8, "batch", 10, "mnist1d")
    assert header["input_shape"] == [1, 40] and header["epochs_trained"] == 1 and header["config"]["ratio"] == 1
    json.dumps(header)
    assert all(isinstance(v, torch.Tensor) for v in checkpoint.state_dict.values())


def test_fine_tuning_starts_from_every_saved_weight(data, balanced_checkpoint):
    saved = load_checkpoint(balanced_checkpoint).state_dict
    trainer = Trainer(BASE.replace(init_checkpoint=str(balanced_checkpoint)), data)
    assert all(torch.equal(trainer.model.state_dict()[k], v) for k, v in saved.items())
    records = list(trainer.epochs())
    assert len(records) == 2 and not torch.equal(trainer.model.state_dict()["blocks.0.0.weight"],
                                                 saved["blocks.0.0.weight"])


def test_the_linear_probe_trains_only_a_new_classifier_on_frozen_features(data, balanced_checkpoint):
    saved = load_checkpoint(balanced_checkpoint).state_dict
    trainer = Trainer(BASE.replace(init_checkpoint=str(balanced_checkpoint), finetune="linear-probe"), data)
    assert not torch.equal(trainer.model.head.weight, saved["head.weight"])  # a new classifier
    list(trainer.epochs())
    state = trainer.model.state_dict()
    frozen = [k for k in saved if not k.startswith("head.")]
    assert all(torch.equal(state[k], saved[k]) for k in frozen)  # BatchNorm statistics included
    assert any("running_mean" in k for k in frozen)
    assert [p for p in trainer.optimizer.param_groups[0]["params"]] == list(trainer.model.head.parameters())


def test_pretraining_on_a_balanced_source_helps_the_minor_classes_start(data, balanced_checkpoint):
    scratch = Trainer(BASE.replace(epochs=1), data)
    tuned = Trainer(BASE.replace(epochs=1, init_checkpoint=str(balanced_checkpoint)), data)
    assert tuned.score("test").group_recall(data.groups)["minor"] > scratch.score("test").group_recall(
        data.groups)["minor"]


def test_a_linear_probe_takes_another_number_of_classes_fine_tuning_does_not(tmp_path):
    spiral = TrainConfig(dataset="toy2d", toy_shape="spiral", n_samples=600, ratio=1, width=4, epochs=1, threads=1)
    path = Trainer(spiral).save_checkpoint(tmp_path / "spiral.pt")  # 4 classes
    blobs = spiral.replace(toy_shape="blobs", ratio=5, init_checkpoint=str(path))  # 6 classes, same input shape
    with pytest.raises(ProcrustesError, match="trained on 4 classes, dataset 'toy2d' has 6; fine-tuning keeps"):
        Trainer(blobs)
    record = list(Trainer(blobs.replace(finetune="linear-probe")).epochs())[-1]
    assert len(record.test_acc) == 6


def test_bad_checkpoints_are_one_line_before_anything_trains(tmp_path, data, balanced_checkpoint):
    def refused(path, match, **changes):
        with pytest.raises(ProcrustesError, match=match) as info:
            Trainer(BASE.replace(init_checkpoint=str(path), **changes), data)
        assert "\n" not in str(info.value)

    refused(tmp_path / "missing.pt", r"^init_checkpoint='.*missing.pt': no such file")
    (tmp_path / "text.pt").write_text("not a checkpoint")
    refused(tmp_path / "text.pt", "not a Procrustes checkpoint")
    torch.save(Trainer(BASE, data).model.state_dict(), tmp_path / "bare.pt")  # weights without a header
    refused(tmp_path / "bare.pt", r"not a Procrustes checkpoint \(no 'format'")
    torch.save({"format": "procrustes-checkpoint", "version": 1, "header": {}, "state_dict": {"x": np.zeros(2)}},
               tmp_path / "pickled.pt")  # objects weights_only refuses to load
    refused(tmp_path / "pickled.pt", "not a Procrustes checkpoint")
    refused(balanced_checkpoint, r"its weights do not fit this network \(blocks.0.0.weight has shape \[8, 1, 5\], "
                                 r"here \[16, 1, 5\]\)", width=16)
    refused(balanced_checkpoint, "a network with attention='none', this run builds attention='se'", attention="se")
    refused(balanced_checkpoint, "a network with model='cnn1d', this run builds model='cnn1d-s1'", model="cnn1d-s1")
    refused(balanced_checkpoint, "its classifier is linear, this run's is cosine", loss="ldam")
    digits = TrainConfig(dataset="digits", ratio=1, width=8, epochs=1, threads=1)
    foreign = Trainer(digits).save_checkpoint(tmp_path / "digits.pt")
    refused(foreign, r"made for inputs of shape \(1, 8, 8\) \(dataset 'digits'\), this run's data have shape "
                     r"\(1, 40\)")


def test_checkpoint_folder_must_exist(tmp_path, data):
    with pytest.raises(ProcrustesError, match="folder .* does not exist"):
        Trainer(BASE, data).save_checkpoint(tmp_path / "no" / "such.pt")


# ---------------------------------------------------------------- classifier re-training (cRT)


def test_classifier_retraining_adds_a_second_stage_on_frozen_features(data):
    trainer = Trainer(BASE.replace(epochs=2, classifier_retrain_epochs=2, mixer="mfw"), data)
    records = []
    for record in trainer.epochs():
        records.append(record)
        if record.epoch == 2:
            features = {k: v.clone() for k, v in trainer.model.state_dict().items() if not k.startswith("head.")}
            head = trainer.model.head.weight.detach().clone()
    assert [(r.epoch, r.stage) for r in records] == [(1, 1), (2, 1), (3, 2), (4, 2)]
    assert records[0].mfw_strength > 0 and [r.mfw_strength for r in records[2:]] == [0.0, 0.0]
    state = trainer.model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in features.items())  # frozen, BatchNorm statistics too
    assert not torch.equal(trainer.model.head.weight, head)
    assert records[2].lr == BASE.lr  # the schedule restarts over the second stage
    assert trainer.finished and trainer.total_epochs == 4


def test_classifier_retraining_redraws_the_classifier_and_samples_classes_evenly(data):
    trainer = Trainer(BASE.replace(epochs=1, classifier_retrain_epochs=1), data)
    list(trainer.epochs())
    order = trainer.retrain_sampler.order(trainer.y_pool, torch.Generator().manual_seed(0))
    share = torch.bincount(trainer.y_pool[order].cpu(), minlength=10).double() / len(order)
    assert torch.allclose(share, torch.full((10,), 0.1, dtype=torch.float64), atol=0.04)


def test_classifier_retraining_with_another_prior_correction_is_refused():
    with pytest.raises(ProcrustesError, match="^loss='balanced-softmax' and classifier_retrain_epochs=10"):
        check_combination(TrainConfig(loss="balanced-softmax", classifier_retrain_epochs=10))
    check_combination(TrainConfig(classifier_retrain_epochs=5, mixer="mfw", init_checkpoint="x.pt",
                                  finetune="linear-probe"))


def test_eval_every_still_records_the_last_epoch_of_each_stage(data):
    trainer = Trainer(BASE.replace(epochs=3, eval_every=5, classifier_retrain_epochs=2), data)
    assert [(r.epoch, r.stage) for r in trainer.epochs()] == [(3, 1), (5, 2)]


def test_a_remedy_history_round_trips_through_json(data, tmp_path):
    from procrustes_core.analysis.history import RunHistory

    trainer = Trainer(BASE.replace(epochs=1, bbn=True), data)
    list(trainer.epochs())
    loaded = RunHistory.load(trainer.history.save(tmp_path / "run.json"))
    assert loaded.records[0].branch_test_acc == trainer.history.records[0].branch_test_acc
    assert loaded.records[0].bbn_alpha == 1.0 and loaded.records[0].stage == 1
