"""Several seeds trained together as one stacked network give each seed what it gets trained alone.

What is bitwise identical to ``Trainer`` with that seed: the data subset, the initial parameters, each
epoch's sample order, and MFW's partners, coefficients and positions. What differs in the last bits:
whatever the network computes, because the stacked layers add the same products in another order than
the single network's kernels (float32 rounding, about 6e-8 relative per operation). So:

- after one optimiser step, in float32, every parameter and BatchNorm statistic agrees to 1e-6;
- over epochs, float32 trajectories agree to about 1e-7 until a ReLU input or a logit margin sits within
  rounding of zero, flips, and the two runs go on as two equally valid trainings (measured on the tiny
  run: seed 3's parameters jumped from 2e-6 to 4e-3 apart at its 24th step); so the per-epoch records
  are compared in float64 (both networks cast to double), where they agree to 1e-15 — the training
  objective, which both compute in float32, to 1e-6 — and every accuracy is the same count of samples.

Whether a seed's numbers depend on the seeds beside it is asserted bitwise: nothing in a stacked layer
mixes two seeds.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from procrustes_core import TrainConfig
from procrustes_core.data.datasets import Data, build_data
from procrustes_core.errors import ProcrustesError, TrainingDiverged
from procrustes_core.methods.mfw import MajorFeatureWeakening
from procrustes_core.methods.posthoc import PostHoc
from procrustes_core.methods.samplers import Sampler
from procrustes_core.training.stacked import SeedsEvent, StackedTrainer, stackable
from procrustes_core.training.trainer import Trainer


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def _after_first_step(config: TrainConfig, seeds: list[int]) -> tuple[dict, dict]:
    """Each seed's network after one mini-batch: trained alone, and trained stacked."""
    alone = {}
    for seed in seeds:
        trainer = Trainer(config.replace(seed=seed))
        next(trainer.steps(every_batches=1))
        alone[seed] = _state(trainer.model)
    stacked = StackedTrainer(config, seeds)
    next(stacked.steps(every_batches=1))
    return alone, {seed: _state(stacked.member(seed)) for seed in seeds}


def _assert_close_states(alone: dict, stacked: dict, atol: float = 1e-6) -> None:
    for seed, state in alone.items():
        assert state.keys() == stacked[seed].keys()
        for name, value in state.items():
            torch.testing.assert_close(stacked[seed][name], value, rtol=1e-5, atol=atol,
                                       msg=lambda m, n=name, s=seed: f"seed {s}, {n}: {m}")


def _without_time(history) -> list[dict]:
    records = [r.to_dict() for r in history.records]
    for record in records:
        record.pop("seconds")
    return records


def test_initial_parameters_are_bitwise_those_of_each_seed_trained_alone(tiny):
    stacked = StackedTrainer(tiny, [0, 5])
    for seed in (0, 5):
        alone = Trainer(tiny.replace(seed=seed)).model.state_dict()
        mine = stacked.member(seed).state_dict()
        assert alone.keys() == mine.keys()
        assert all(torch.equal(alone[name], mine[name]) for name in alone)
    different = [name for name, value in stacked.member(0).state_dict().items()
                 if value.dtype.is_floating_point and not torch.equal(value, stacked.member(5).state_dict()[name])]
    assert "blocks.0.0.weight" in different  # and the two seeds do start apart


def test_sample_order_and_mfw_draws_are_bitwise_those_of_each_seed_trained_alone(tiny, monkeypatch):
    orders, draws = [], []

    def order(self, labels, generator, _order=Sampler.order):
        result = _order(self, labels, generator)
        orders.append((id(self), result.clone()))
        return result

    def draw(self, labels, strength, _draw=MajorFeatureWeakening.draw):
        mixing = _draw(self, labels, strength)
        draws.append((id(self), labels.clone(), mixing.lam.clone(), mixing.partner.clone(), mixing.position))
        return mixing

    monkeypatch.setattr(Sampler, "order", order)
    monkeypatch.setattr(MajorFeatureWeakening, "draw", draw)
    config = tiny.replace(mixer="mfw", mfw_layer="random", mfw_strength=0.9, mfw_schedule="constant")
    alone = {seed: Trainer(config.replace(seed=seed)) for seed in (2, 7)}  # kept alive: ids stay theirs
    for trainer in alone.values():
        list(trainer.epochs())
    stacked = StackedTrainer(config, [2, 7])
    list(stacked.epochs())
    for i, seed in enumerate((2, 7)):
        sampler, mixer = id(alone[seed].sampler), id(alone[seed].mixer)
        mine_sampler, mine_mixer = id(stacked.methods[i].sampler), id(stacked.methods[i].mixer)
        theirs = [o for key, o in orders if key == sampler]
        mine = [o for key, o in orders if key == mine_sampler]
        assert len(mine) == len(theirs) == tiny.epochs
        assert all(torch.equal(a, b) for a, b in zip(mine, theirs))
        their_draws = [d[1:] for d in draws if d[0] == mixer]
        my_draws = [d[1:] for d in draws if d[0] == mine_mixer]
        assert len(my_draws) == len(their_draws) > tiny.epochs
        for (y1, lam1, p1, at1), (y2, lam2, p2, at2) in zip(my_draws, their_draws):
            assert torch.equal(y1, y2) and torch.equal(lam1, lam2) and torch.equal(p1, p2) and at1 == at2
    assert {d[4] for d in draws} != {draws[0][4]}  # the random layer did draw several positions


@pytest.mark.parametrize("changes", [
    dict(mixer="none"),
    dict(mixer="mfw", mfw_layer="penultimate"),
    dict(mixer="mfw", mfw_layer="input"),
    dict(mixer="mfw", mfw_layer="block2", mfw_after_norm=True),
    dict(mixer="mfw", mfw_layer="random", mfw_detach=True),
    dict(mixer="mixup"),
    dict(optimizer="adam", lr=0.01),
    dict(loss="focal", norm="none", model="cnn1d-s1"),
    dict(mixer="mfw", mfw_layer="block2", width=16),
    dict(model="cnn1d-s1", width=16),
    dict(augment="shift"),
    dict(loss="weighted-ce"),
    dict(sampler="square-root"),
    dict(dataset="toy2d", model="mlp", n_samples=1000),
], ids=["erm", "mfw-penultimate", "mfw-input", "mfw-block2-after-norm", "mfw-random-detached", "mixup", "adam",
        "focal-no-batchnorm", "mlp",
        "mfw-summed-taps", "stride-1-summed-taps", "augmented", "weighted-loss", "square-root-sampler"])
def test_one_step_stacked_is_one_step_alone(tiny, changes):
    config = tiny.replace(mfw_strength=0.9, **changes)
    # Adam's first step moves each weight by about lr·g/|g|: where |g| is near its ε the last bits of g
    # show in the step, so it is compared to a thousandth of lr
    atol = 1e-3 * config.lr if config.optimizer == "adam" else 1e-6
    _assert_close_states(*_after_first_step(config, [0, 1, 4]), atol=atol)


def _in_double(data: Data) -> Data:
    return dataclasses.replace(data, x_train=data.x_train.double(), x_test=data.x_test.double())


@pytest.mark.parametrize("mixer", ["none", "mfw"])
def test_a_seed_trained_stacked_has_the_records_of_the_seed_trained_alone(tiny, mixer):
    config = tiny.replace(mixer=mixer, epochs=3)
    variants = {"LA": PostHoc(la_tau=1.0)}
    data = {seed: _in_double(build_data(config.replace(seed=seed))) for seed in (0, 3)}
    stacked = StackedTrainer(config, [0, 3], variants=variants, data=data)
    stacked.model.double()
    yielded = list(stacked.epochs())
    assert [sorted(r) for r in yielded] == [[0, 3]] * 3
    for seed in (0, 3):
        trainer = Trainer(config.replace(seed=seed), data=data[seed], variants=variants)
        trainer.model.double()
        list(trainer.epochs())
        theirs, mine = trainer.history.records, stacked.histories[seed].records
        assert [r.epoch for r in mine] == [1, 2, 3] and mine == [y[seed] for y in yielded]
        assert stacked.histories[seed].config == trainer.history.config
        for a, b in zip(mine, theirs):
            assert a.train_loss == pytest.approx(b.train_loss, rel=1e-6)  # the objective is float32 in both
            assert a.loss == pytest.approx(b.loss, rel=1e-12)
            assert a.grad_norm == pytest.approx(b.grad_norm, rel=1e-12)
            assert (a.train_acc, a.test_acc, a.confusion, a.variants) == (b.train_acc, b.test_acc, b.confusion,
                                                                           b.variants)
            assert (a.lr, a.mfw_strength, a.group_train_acc, a.balanced_acc) == (b.lr, b.mfw_strength,
                                                                                 b.group_train_acc, b.balanced_acc)


def test_a_seeds_numbers_do_not_depend_on_the_seeds_beside_it(tiny):
    config = tiny.replace(mixer="mfw")
    with_two, with_three = StackedTrainer(config, [1, 2]), StackedTrainer(config, [1, 3])
    list(with_two.epochs())
    list(with_three.epochs())
    assert _without_time(with_two.histories[1]) == _without_time(with_three.histories[1])
    assert _without_time(with_two.histories[2]) != _without_time(with_three.histories[3])


def test_stop_ends_training_before_the_next_mini_batch(tiny):
    stacked = StackedTrainer(tiny, [0, 1])
    steps = stacked.steps(every_batches=1)
    first = next(steps)
    assert isinstance(first, SeedsEvent) and not first.is_record
    assert sorted(first.events) == [0, 1] and all(e.batch == 1 for e in first.events.values())
    before = _state(stacked.member(0))
    stacked.stop("stopped by the user")
    assert list(steps) == []
    after = _state(stacked.member(0))
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert all(h.stopped == "stopped by the user" and h.records == [] for h in stacked.histories.values())


def test_stop_during_the_evaluation_passes_ends_them_without_a_record(tiny, monkeypatch):
    stacked = StackedTrainer(tiny, [0, 1])
    features = stacked.model.features

    def stop_when_evaluating(*args, **kwargs):
        if not stacked.model.training:
            stacked.stop("stopped by the user")
        return features(*args, **kwargs)

    monkeypatch.setattr(stacked.model, "features", stop_when_evaluating)
    assert list(stacked.steps(every_batches=5)) != []  # the step events of epoch 1 came
    assert all(h.records == [] and h.stopped == "stopped by the user" for h in stacked.histories.values())
    assert stacked.epoch == 0


def test_a_diverging_seed_stops_with_the_message_it_gets_alone(tiny):
    config = tiny.replace(model="mlp", width=64, lr=100.0, momentum=0.99, weight_decay=0.0)
    with pytest.raises(TrainingDiverged) as alone:
        list(Trainer(config.replace(seed=4)).epochs())
    stacked = StackedTrainer(config, [4, 6])
    assert list(stacked.epochs()) == []
    expected = alone.value.history.stopped.split(" (loss")[0]
    assert expected.startswith("training diverged in epoch 1")
    for history in stacked.histories.values():
        assert history.stopped.split(" (loss")[0] == expected and history.records == []


def test_a_config_that_cannot_stack_says_why(tiny):
    assert stackable(tiny) == (True, "")
    assert stackable(tiny.replace(mixer="mfw", la_tau=1.0)) == (True, "")
    for changes, reason in [(dict(bbn=True), "BBN"), (dict(classifier_retrain_epochs=2), "classifier re-training"),
                            (dict(attention="se"), "squeeze-and-excitation"),
                            (dict(dataset="digits", model="cnn2d"), "model 'cnn2d'")]:
        ok, why = stackable(tiny.replace(**changes))
        assert not ok and why.startswith("not stackable: ") and reason in why and "\n" not in why
        with pytest.raises(ProcrustesError, match="^not stackable: .*" + reason):
            StackedTrainer(tiny.replace(**changes), [0, 1])


def test_seeds_are_checked(tiny):
    with pytest.raises(ProcrustesError, match="each seed once"):
        StackedTrainer(tiny, [1, 1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; CPU is the tested default")
def test_stacked_training_runs_on_cuda_as_on_the_cpu(tiny):
    on_cpu = StackedTrainer(tiny.replace(device="cpu"), [0, 1])
    on_gpu = StackedTrainer(tiny.replace(device="cuda"), [0, 1])
    list(on_cpu.epochs())
    list(on_gpu.epochs())
    for seed in (0, 1):
        a, b = on_cpu.histories[seed].records[-1], on_gpu.histories[seed].records[-1]
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-2)


def test_a_learners_own_data_stacks_when_its_network_does(tmp_path):
    import io

    import numpy as np

    rng = np.random.default_rng(0)
    y = np.array([0] * 20 + [1] * 10)
    found = {}
    for name, shape in {"table": (30, 5), "sequences": (30, 1, 16), "images": (30, 12, 12)}.items():
        buffer = io.BytesIO()
        np.savez(buffer, x=rng.normal(size=shape), y=y)
        (tmp_path / f"{name}.npz").write_bytes(buffer.getvalue())
        config = TrainConfig(dataset="your-data", data_path=str(tmp_path / f"{name}.npz"), profile="natural")
        found[name] = stackable(config)
    assert found["table"] == (True, "") and found["sequences"] == (True, "")
    assert not found["images"][0] and "'cnn2d'" in found["images"][1]


def test_procrustes_methods_says_which_methods_train_seed_by_seed_and_why(capsys):
    from procrustes_core.cli import main
    from procrustes_core.methods.catalogue import METHODS

    assert main(["methods"]) == 0
    said = capsys.readouterr().out.split("SEVERAL SEEDS AT ONCE")[1]
    for name in METHODS:
        ok, why = stackable(TrainConfig().with_methods(name))
        listed = f"\n  {name} " in said
        assert listed != ok, name
        if not ok:
            assert why.removeprefix("not stackable: ") in said
    assert "cnn2d" in said and "resnet32" in said


def test_a_server_can_turn_stacking_off_and_each_seed_then_trains_alone(monkeypatch):
    monkeypatch.setenv("PROCRUSTES_STACKED_SEEDS", "0")
    ok, why = stackable(TrainConfig())
    assert not ok and why == "not stackable: PROCRUSTES_STACKED_SEEDS=0 (each seed trains in a process of its own)"
    monkeypatch.setenv("PROCRUSTES_STACKED_SEEDS", "1")
    assert stackable(TrainConfig()) == (True, "")
