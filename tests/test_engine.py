"""The engine: one train-and-ship function speaking typed events, observers, the executor's backends, and
the frozen views the training service hands to pages."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading

import pytest
from test_service import until

from procrustes_core import TrainConfig
from procrustes_core.analysis.history import EpochRecord
from procrustes_core.training.events import StepEvent
from procrustes_core.training.executor import DEAD_WORKER, run_batch
from procrustes_core.training.jobs import Status
from procrustes_core.training.messages import Ended, Epoch, Failed, Started, Step, TrainRequest
from procrustes_core.training.worker import train_and_ship

QUICK = TrainConfig(n_samples=1000, ratio=10, width=4, epochs=2, batch_size=64, threads=1)
LONG = TrainConfig(n_samples=4000, ratio=10, width=16, epochs=200, batch_size=32, threads=1)


def shipped(request: TrainRequest, stop_after: int | None = None) -> list:
    events: list = []
    train_and_ship(request, events.append, lambda: stop_after is not None and len(events) >= stop_after)
    return events


def test_a_request_of_two_seeds_ships_each_seeds_events_in_order():
    events = shipped(TrainRequest(7, QUICK.to_dict(), seeds=(3, 4), every_seconds=1e-9))
    for seed in (3, 4):
        mine = [e for e in events if e.seed == seed]
        assert isinstance(mine[0], Started) and isinstance(mine[-1], Ended) and mine[-1].stopped is None
        assert [e.record.epoch for e in mine if isinstance(e, Epoch)] == [1, 2]
        assert all(isinstance(e.step, StepEvent) for e in mine if isinstance(e, Step)) and any(
            isinstance(e, Step) for e in mine)
        assert all(isinstance(e.record, EpochRecord) for e in mine if isinstance(e, Epoch))
    assert [e.seed for e in events if isinstance(e, Started)] == [3, 4] and {e.serial for e in events} == {7}


def test_events_are_frozen_dataclasses():
    event = shipped(TrainRequest(1, QUICK.to_dict()))[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.serial = 2


def test_stopping_ends_the_seed_in_training_and_skips_the_later_seeds_when_seeds_train_in_turn():
    unstackable = LONG.replace(attention="se")  # squeeze-and-excitation has no stacked form: seed after seed
    events = shipped(TrainRequest(1, unstackable.to_dict(), seeds=(0, 1), every_seconds=1e-9), stop_after=3)
    assert [type(e) for e in events][-1] is Ended and events[-1].stopped == "stopped after 0 epochs"
    assert {e.seed for e in events} == {0}


def test_stacked_seeds_all_start_then_advance_together_then_all_end():
    events = shipped(TrainRequest(7, QUICK.to_dict(), seeds=(3, 4, 5), every_seconds=1e-9))
    kinds = [type(e) for e in events]
    assert kinds[:3] == [Started] * 3 and [e.seed for e in events[:3]] == [3, 4, 5]
    assert kinds[-3:] == [Ended] * 3 and all(e.stopped is None for e in events[-3:])
    epochs = [(e.record.epoch, e.seed) for e in events if isinstance(e, Epoch)]
    assert epochs == [(1, 3), (1, 4), (1, 5), (2, 3), (2, 4), (2, 5)]  # no seed is an epoch ahead of another
    steps = [e for e in events if isinstance(e, Step)]
    assert {e.seed for e in steps} == {3, 4, 5} and all(isinstance(e.step, StepEvent) for e in steps)


def test_stacked_seeds_stop_together_within_one_step_event():
    events = shipped(TrainRequest(1, LONG.to_dict(), seeds=(0, 1), every_seconds=1e-9), stop_after=4)
    ended = [e for e in events if isinstance(e, Ended)]
    assert [e.seed for e in ended] == [0, 1] and all(e.stopped == "stopped after 0 epochs" for e in ended)
    assert not any(isinstance(e, Epoch) for e in events)


def test_a_stacked_request_is_stopped_by_its_watcher_between_mini_batches_without_step_events():
    asked = threading.Event()
    events: list = []

    def stopped() -> bool:
        if any(isinstance(e, Started) for e in events):
            asked.set()
        return asked.is_set()

    train_and_ship(TrainRequest(1, LONG.to_dict(), seeds=(0, 1)), events.append, stopped)  # no step events
    assert asked.is_set() and [type(e) for e in events] == [Started, Started, Ended, Ended]


def test_a_stacked_seed_that_diverges_fails_alone_and_the_others_finish():
    from procrustes_core.training import stacked as stacked_module

    original = stacked_module.StackedTrainer._step

    def poisoned(self, epoch):  # seed 1's loss becomes non-finite in its first epoch
        original(self, epoch)
        epoch.total_loss[1] = float("nan")

    try:
        stacked_module.StackedTrainer._step = poisoned
        events = shipped(TrainRequest(1, QUICK.to_dict(), seeds=(0, 1, 2)))
    finally:
        stacked_module.StackedTrainer._step = original
    failed = [e for e in events if isinstance(e, Failed)]
    assert [e.seed for e in failed] == [1] and failed[0].diverged and "diverged in epoch 1" in failed[0].message
    assert sorted(e.seed for e in events if isinstance(e, Ended)) == [0, 2]
    assert [e.record.epoch for e in events if isinstance(e, Epoch) and e.seed == 0] == [1, 2]
    assert not any(isinstance(e, Epoch) and e.seed == 1 for e in events)


def test_stacked_seeds_have_their_observers_and_checkpoints_each(tmp_path):
    from procrustes_core.training.checkpoint import load_checkpoint

    toy = TrainConfig(dataset="toy2d", n_samples=600, model="mlp", width=8, epochs=2, threads=1)
    events = shipped(TrainRequest(1, toy.to_dict(), seeds=(0, 1), observers=("boundary", "features", "probabilities"),
                                  checkpoint=str(tmp_path / "net-{seed}.pt")))
    ended = {e.seed: e for e in events if isinstance(e, Ended)}
    assert set(ended) == {0, 1}
    for seed, end in ended.items():
        epochs = [e for e in events if isinstance(e, Epoch) and e.seed == seed]
        assert [e.observed["boundary"]["epoch"] for e in epochs] == [1, 2]
        assert end.results["features"]["epochs"] == [1, 2] and len(end.results["probabilities"]["labels"]) > 0
        assert load_checkpoint(str(tmp_path / f"net-{seed}.pt")) is not None
    # each seed's observers saw its own network: the two seeds' test predictions differ
    assert ended[0].results["probabilities"]["probabilities"] != ended[1].results["probabilities"]["probabilities"]


def test_observers_send_what_they_saw_each_epoch_and_made_at_the_end():
    toy = TrainConfig(dataset="toy2d", n_samples=600, model="mlp", width=8, epochs=2, threads=1)
    events = shipped(TrainRequest(1, toy.to_dict(), observers=("boundary", "features", "probabilities", "scores"),
                                  scored={"plain": {}, "LA": {"la_tau": 1.0}}))
    epochs = [e for e in events if isinstance(e, Epoch)]
    assert all(set(e.observed) == {"boundary", "features"} for e in epochs)
    assert epochs[-1].observed["boundary"]["epoch"] == 2
    end = events[-1]
    assert set(end.results) == {"features", "probabilities", "scores"} and end.results["features"]["epochs"] == [1, 2]
    scores = end.results["scores"]
    assert set(scores) == {"plain", "LA"} and 0 <= scores["LA"]["test"]["balanced_acc"] <= 1


def test_an_unknown_observer_or_a_bad_setting_is_one_failed_event():
    unknown = shipped(TrainRequest(1, QUICK.to_dict(), observers=("horoscope",)))
    assert isinstance(unknown[-1], Failed) and unknown[-1].message.startswith("observer 'horoscope': expected one of")
    bad = shipped(TrainRequest(2, QUICK.replace(mixer="mfw", mfw_layer="block5", model="mlp").to_dict()))
    assert len(bad) == 1 and isinstance(bad[0], Failed) and "\n" not in bad[0].message
    assert bad[0].message.startswith("mfw_layer='block5'") and not bad[0].diverged


def test_a_diverging_training_fails_as_diverged_with_its_history():
    found = {}
    diverging = QUICK.replace(model="mlp", width=64, lr=100.0, momentum=0.99, weight_decay=0.0, epochs=3)
    run_batch([TrainRequest(0, diverging.to_dict())], lambda r, o: found.update(o=o))
    outcome = found["o"]
    assert outcome.diverged and "diverged in epoch 1" in outcome.error and outcome.history.stopped == outcome.error


def test_the_executor_builds_the_same_histories_serially_and_on_local_workers():
    requests = [TrainRequest(i, QUICK.replace(ratio=r).to_dict(), seeds=(0, 1)) for i, r in enumerate((10, 50))]
    found: dict[str, dict] = {"serial": {}, "local": {}}
    for backend in found:
        run_batch(requests, lambda r, o, b=backend: found[b].update({(r.serial, o.seed): o.history}), backend,
                  workers=2)
    assert sorted(found["serial"]) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for key, history in found["serial"].items():
        other = found["local"][key]
        assert other.config == history.config and other.finished and history.finished
        assert [r.balanced_acc for r in other.records] == [r.balanced_acc for r in history.records]


def test_a_killed_local_worker_fails_its_request_in_one_line_and_the_batch_goes_on(monkeypatch):
    from procrustes_core.training import backends

    pool: dict = {}
    original = backends.LocalBackend.__init__

    def keep(self, *args, **kwargs):
        original(self, *args, **kwargs)
        pool["it"] = self

    monkeypatch.setattr(backends.LocalBackend, "__init__", keep)
    killed = threading.Event()
    outcomes = {}

    def done(request, outcome):
        outcomes[request.serial] = outcome

    def kill_when_training():
        backend = pool["it"]
        os.kill(backend.pid(0), signal.SIGKILL)
        killed.set()

    requests = [TrainRequest(0, LONG.to_dict(), every_seconds=0.05), TrainRequest(1, QUICK.to_dict())]
    monkeypatch.setattr(backends.LocalBackend, "start", _start_then(backends.LocalBackend.start, kill_when_training))
    run_batch(requests, done, "local", workers=1)
    assert killed.is_set()
    assert outcomes[0].error == DEAD_WORKER.format(epochs=outcomes[0].epochs_done)
    assert outcomes[1].error is None and outcomes[1].history.finished  # a fresh worker took the slot


def _start_then(start, action):
    """``LocalBackend.start`` that runs ``action`` once, right after the first request is handed over."""
    done = []

    def wrapped(self, slot, request):
        start(self, slot, request)
        if not done:
            done.append(True)
            action()

    return wrapped


def test_pages_get_frozen_views_whose_status_is_an_enum_equal_to_its_word():
    from procrustes_core.training.service import TrainingService

    service = TrainingService(workers=1, every_seconds=0.05, abandon_seconds=3600)
    try:
        job = service.submit("viewer", [("quick", QUICK)], seeds=[0, 1])
        view = service.view(job)
        assert view.status is Status.RUNNING and view.status == "running"
        with pytest.raises(dataclasses.FrozenInstanceError):
            view.job.tasks[0].status = Status.STOPPED
        assert isinstance(view.job.tasks, tuple)
        until(lambda: not service.view(job).training)
        finished = service.view(job)
        assert finished.status is Status.FINISHED and all(t.status == "finished" for t in finished.job.tasks)
        assert [t.seed for t in finished.job.runs()[0]] == [0, 1]
    finally:
        service.close()


def test_the_recalibration_observer_scores_re_estimated_batchnorm_and_leaves_the_network_as_it_was():
    from procrustes_core.training.observers import Recalibrated
    from procrustes_core.training.trainer import Trainer

    trainer = Trainer(QUICK.replace(norm="batch", mixer="mfw", mfw_strength=0.9))
    for _ in trainer.epochs():
        pass
    before = trainer.logits("test").clone()
    found = Recalibrated().end(trainer)
    assert 0 <= found["test_bal_la"] <= 1
    assert (trainer.logits("test") == before).all()  # the running statistics were put back


def test_an_unknown_extra_is_refused_in_one_line_before_anything_runs():
    from procrustes_core import ProcrustesError
    from procrustes_core.training.service import TrainingService

    service = TrainingService(workers=1)
    try:
        with pytest.raises(ProcrustesError, match=r"^extras: 'horoscope' is not an observer; expected one of"):
            service.submit("x", [("quick", QUICK)], extras=("boundary", "horoscope"))
        assert service.jobs() == []
    finally:
        service.close()
