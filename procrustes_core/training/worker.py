"""One training, run where a worker runs it (a local process or a Ray actor), as a stream of events.

A task is a plain dict (so it pickles to any process or machine): ``{"serial", "config", "variants",
"extras", "every_seconds"}``. ``run_task(task, emit, stopped)`` trains it and calls ``emit(event)``
with small dicts, in order:

    {"kind": "started", "serial", "counts", "groups", "class_names", "threads"}
    {"kind": "step", "serial", "step": StepEvent.to_dict()}            every ``every_seconds``
    {"kind": "epoch", "serial", "record": EpochRecord.to_dict(), "grid": ... (extras "boundary"),
     "points": ... (extras "features": the live 2-D view of penultimate features)}
    {"kind": "replay", "serial", "labels", "epochs", "points"}     extras "features", at the end
    {"kind": "probabilities", "serial", "probabilities", "labels"}  extras "probabilities", at the end:
                                                                    the test split under the run's post-hoc setting
    {"kind": "end", "serial", "stopped": reason or None}
    {"kind": "error", "serial", "message": one line}

``stopped()`` is asked between two events: when it returns True the training ends there, within one
step event. Nothing is written to disk: the caller builds and keeps the history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Emit = Callable[[dict[str, Any]], None]


def run_task(task: dict[str, Any], emit: Emit, stopped: Callable[[], bool]) -> None:
    """Train one task, emitting its events; every failure becomes one ``error`` event."""
    import torch

    from ..config import TrainConfig
    from ..errors import ProcrustesError, TrainingDiverged
    from ..methods.posthoc import PostHoc
    from .events import StepEvent
    from .trainer import Trainer

    serial = task["serial"]
    try:
        config = TrainConfig.from_dict(task["config"])
        torch.set_num_threads(config.threads or 1)
        variants = {name: PostHoc(**setting) for name, setting in (task.get("variants") or {}).items()}
        trainer = Trainer(config, variants=variants)
        data = trainer.data
        emit({"kind": "started", "serial": serial, "counts": list(data.counts), "groups": data.groups,
              "class_names": list(data.class_names), "threads": trainer.threads})
        extras = set(task.get("extras") or ())
        trail = _trail(trainer) if "features" in extras else None
        for event in trainer.steps(every_seconds=float(task.get("every_seconds", 0.25))):
            if isinstance(event, StepEvent):
                emit({"kind": "step", "serial": serial, "step": event.to_dict()})
            else:
                message = {"kind": "epoch", "serial": serial, "record": event.to_dict()}
                if "boundary" in extras:
                    message["grid"] = _grid(trainer)
                if trail is not None:
                    message["points"] = _features(trainer, trail, event.epoch).round(4).tolist()
                emit(message)
            if stopped():
                break
        if trail is not None and trail.epochs:
            emit({"kind": "replay", "serial": serial, "labels": trail.labels.tolist(), "epochs": trail.epochs,
                  "points": [p.round(4).tolist() for p in trail.replay()]})
        if "probabilities" in extras and trainer.epoch > 0:
            probabilities = torch.softmax(trainer.logits("test").float(), 1).cpu().numpy()
            emit({"kind": "probabilities", "serial": serial, "probabilities": probabilities.round(5).tolist(),
                  "labels": trainer.data.y_test.cpu().numpy().tolist()})
        emit({"kind": "end", "serial": serial,
              "stopped": None if trainer.finished else f"stopped after {trainer.epoch} epochs"})
    except TrainingDiverged as err:
        emit({"kind": "error", "serial": serial, "message": str(err)})
    except ProcrustesError as err:
        emit({"kind": "error", "serial": serial, "message": str(err)})
    except Exception as err:  # noqa: BLE001 - a bug must reach the learner as one line, not kill the worker
        emit({"kind": "error", "serial": serial, "message": f"training failed: {type(err).__name__}: {err}"})


def _trail(trainer):
    from ..analysis.projection import FeatureTrail, feature_sample

    labels = trainer.data.y_train.numpy()
    return FeatureTrail(feature_sample(labels, trainer.data.groups, seed=trainer.config.seed), labels)


def _features(trainer, trail, epoch: int):
    """The fixed sample's penultimate features after this epoch (eval mode), added to the trail; features
    that are not finite end the training as diverged, with the trainer's message."""
    import torch

    from ..analysis.projection import FeaturesNotFinite

    was_training = trainer.model.training
    trainer.model.eval()
    with torch.no_grad():
        features = trainer.model.features(trainer.x_train[torch.as_tensor(trail.sample)]).float().cpu().numpy()
    trainer.model.train(was_training)
    try:
        return trail.add(epoch, features)
    except FeaturesNotFinite:
        raise trainer.diverged(epoch, "its penultimate features are not finite") from None


def _grid(trainer) -> dict[str, Any]:
    """The current decision regions on 2-D data, compactly (lists for any transport)."""
    from ..analysis.boundary import decision_grid

    grid = decision_grid(trainer, resolution=60)
    return {"xs": grid.xs.tolist(), "ys": grid.ys.tolist(), "predicted": grid.predicted.tolist(),
            "confidence": grid.confidence.astype(float).round(3).tolist(), "epoch": grid.epoch}


# ---------------------------------------------------------------- a local worker process


def warm_up() -> None:
    """Load, before the first task, what a worker's first training would otherwise load while a learner
    waits for the first chart: torch, the trainer, and the compiler modules that torch's optimisers import
    on first use (about 1.5 s on this machine)."""
    import torch

    from .trainer import Trainer  # noqa: F401

    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def process_main(inbox, outbox, stop_serial, worker: int) -> None:
    """A worker process's loop: take a task, stream its events, say when idle; ``None`` ends it."""
    import os
    import signal

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # Ctrl-C (or a notebook's interrupt) reaches the whole process group: the caller stops its trainings
    # through the service, and a worker killed by it would only print a traceback and be started again
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if worker == 0:  # the service gives a task to the first free worker: a lone learner's always lands here
        warm_up()  # (only this one: an idle worker that loaded torch would hold about 600 MB for nothing)
    while True:
        task = inbox.get()
        if task is None:
            return

        def emit(event: dict[str, Any]) -> None:
            outbox.put((worker, event))

        run_task(task, emit, lambda serial=task["serial"]: stop_serial.value == serial)
        outbox.put((worker, {"kind": "idle", "serial": task["serial"]}))
