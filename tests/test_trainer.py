"""The trainer: records per epoch, determinism, MFW bookkeeping, stopping and divergence."""

import math

import pytest
import torch

from procrustes_core import ProcrustesError, RunHistory, Trainer, TrainingDiverged, build_data, run, train
from procrustes_core.training.trainer import evaluate


def _same(a: RunHistory, b: RunHistory) -> bool:
    fields = ("train_acc", "test_acc", "loss", "grad_norm", "train_loss", "confusion")
    return all(getattr(x, f) == getattr(y, f) for x, y in zip(a.records, b.records, strict=True) for f in fields)


def test_train_yields_one_record_per_epoch_with_per_class_lists(tiny):
    records = list(train(tiny))
    assert [r.epoch for r in records] == [1, 2]
    for r in records:
        for name in ("train_acc", "test_acc", "loss", "grad_norm", "precision", "recall", "f1"):
            assert len(getattr(r, name)) == 10
        assert 0 <= r.balanced_acc <= 1 and r.seconds > 0 and r.confusion is not None
        assert set(r.group_train_acc) == {"major", "minor"}
    assert records[1].seconds > records[0].seconds


def test_same_seed_gives_an_identical_history_on_cpu(tiny):
    config = tiny.replace(mixer="mfw", mfw_strength=0.9, mfw_layer="random")
    assert _same(run(config), run(config))


def test_other_seed_gives_another_history(tiny):
    assert not _same(run(tiny), run(tiny.replace(seed=1)))


def test_strength_zero_reproduces_plain_training_bit_for_bit(tiny):
    plain = run(tiny)
    # The mixer runs every step, but the schedule gives strength 0 from the first epoch on.
    mixed_at_zero = run(tiny.replace(mixer="mfw", mfw_strength=0.9, mfw_schedule="warmup", mfw_until=0.0))
    assert mixed_at_zero.series("mfw_strength") == [0.0, 0.0]
    assert _same(plain, mixed_at_zero)


def test_mfw_changes_training_and_follows_its_schedule(tiny):
    config = tiny.replace(epochs=4, mixer="mfw", mfw_strength=0.9, mfw_schedule="warmup", mfw_until=0.5)
    history = run(config)
    assert history.series("mfw_strength") == [0.9, 0.9, 0.0, 0.0]
    assert not _same(history, run(tiny.replace(epochs=4)))


def test_evaluation_is_unmixed_and_repeatable(tiny):
    trainer = Trainer(tiny.replace(mixer="mfw", mfw_strength=1.0, mfw_schedule="constant"))
    next(trainer.epochs())
    first = evaluate(trainer.model, trainer.x_test, trainer.y_test).logits
    again = evaluate(trainer.model, trainer.x_test, trainer.y_test).logits
    assert torch.equal(first, again)
    assert torch.equal(first, trainer.model.eval()(trainer.x_test).detach())


def test_labels_are_never_changed_by_mixing(tiny):
    trainer = Trainer(tiny.replace(mixer="mfw", mfw_strength=1.0, mfw_schedule="constant"))
    labels = trainer.y_train.clone()
    list(trainer.epochs())
    assert torch.equal(labels, trainer.y_train)


def test_feature_gradient_norm_matches_autograd_per_sample(tiny):
    trainer = Trainer(tiny)
    next(trainer.epochs())
    x, y = trainer.x_train[:5], trainer.y_train[:5]
    ours = evaluate(trainer.model, x, y, with_grad=True).grad_norm
    trainer.model.eval()
    for i in range(5):
        h = trainer.model.features(x[i:i + 1]).detach().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(trainer.model.head(h), y[i:i + 1])
        (grad,) = torch.autograd.grad(loss, h)
        assert ours[i].item() == pytest.approx(grad.norm().item(), rel=1e-5)


def test_post_hoc_adjustment_changes_only_evaluation(tiny):
    plain, adjusted = run(tiny), run(tiny.replace(la_tau=1.0))
    assert plain.series("train_acc") == adjusted.series("train_acc")
    assert plain.series("test_acc") != adjusted.series("test_acc")


def test_stopping_keeps_the_partial_run_and_training_can_continue(tiny):
    trainer = Trainer(tiny.replace(epochs=3))
    next(trainer.epochs())
    assert len(trainer.history.records) == 1
    rest = list(trainer.epochs())
    assert [r.epoch for r in rest] == [2, 3] and len(trainer.history.records) == 3


def test_a_diverging_run_stops_with_a_clear_message_and_its_history(tiny):
    with pytest.raises(TrainingDiverged, match="diverged in epoch 1.*lower lr") as err:
        run(tiny.replace(model="mlp", width=64, lr=100.0, momentum=0.99, weight_decay=0.0, epochs=3))
    assert "\n" not in str(err.value)
    assert err.value.history is not None and err.value.history.stopped


def test_cuda_without_a_gpu_is_a_user_error(tiny):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ProcrustesError, match="device='cuda'"):
        Trainer(tiny.replace(device="cuda"))


def test_unknown_block_for_the_model_is_named(tiny):
    with pytest.raises(ProcrustesError, match="mfw_layer='block5'"):
        Trainer(tiny.replace(mixer="mfw", mfw_strength=0.5, mfw_layer="block5"))


@pytest.mark.parametrize(
    "changes",
    [
        dict(dataset="digits", model="mlp"),
        dict(dataset="digits", model="cnn2d"),
        dict(dataset="toy2d", toy_shape="moons", n_samples=600),
        dict(model="mlp", mixer="mfw", mfw_strength=0.5, mfw_layer="input"),
        dict(optimizer="adam", lr=0.01, lr_schedule="constant", mixer="mfw", mfw_strength=0.5, mfw_weights="progress",
             mfw_schedule="until-equal", mfw_coef="beta", mfw_alpha=0.4, mfw_prob=0.5),
        dict(val_per_class=10),
    ],
)
def test_datasets_models_and_options_train(tiny, changes):
    history = run(tiny.replace(epochs=1, **changes))
    last = history.last
    assert len(history.records) == 1 and math.isfinite(last.balanced_acc) and math.isfinite(last.train_loss)
    if changes.get("val_per_class"):
        assert last.val_balanced_acc is not None and len(last.val_acc) == 10


def test_resnet32_trains_on_small_images():
    from procrustes_core import TrainConfig

    data = build_data(TrainConfig(dataset="digits", ratio=5))
    data.x_train, data.x_test = (torch.nn.functional.interpolate(t, size=16).repeat(1, 3, 1, 1)
                                 for t in (data.x_train, data.x_test))
    config = TrainConfig(dataset="digits", model="resnet32", ratio=5, epochs=1, width=4, threads=1,
                         mixer="mfw", mfw_strength=0.5, mfw_layer="block3")
    history = run(config, data=data)
    assert len(history.records) == 1 and len(history.last.grad_norm) == 10


def test_time_based_steps_end_every_epochs_mini_batches_with_an_event(tiny):
    """However short an epoch, the in-epoch view gets its running figures over all of its mini-batches,
    just before the epoch's record; and those events change nothing in the run."""
    from procrustes_core.training.events import StepEvent

    trainer = Trainer(tiny)
    events = list(trainer.steps(every_seconds=3600.0))  # no event by time: only the epochs' last batches
    kinds = ["step" if isinstance(e, StepEvent) else "epoch" for e in events]
    assert kinds == ["step", "epoch"] * tiny.epochs
    last = [e for e in events if isinstance(e, StepEvent)]
    assert all(e.progress == 1.0 and e.batch == e.batches for e in last)
    assert all(e.seen == list(trainer.data.counts) for e in last)  # one pass over every training sample
    plain = Trainer(tiny)
    for _ in plain.epochs():
        pass
    assert plain.history.records[-1].test_acc == trainer.history.records[-1].test_acc
