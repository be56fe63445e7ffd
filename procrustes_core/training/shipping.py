"""A request's seeds trained stacked (``stacked.StackedTrainer``) and shipped as each seed's own events.

The contract is ``messages.py``'s, seed by seed: every seed's ``Started``; then, as all seeds advance
together, each seed's ``Step`` and ``Epoch``; then each seed's ``Ended`` — or its ``Failed`` the moment its
loss (or an observer's view of its features) stops being finite, while the others train on. Observers
(``observers.py``) watch a per-seed ``Trainer`` view: built once on the seed's data, its network refreshed
from ``StackedTrainer.member(seed)`` whenever an observer looks. A watcher thread asks ``stopped()`` every
50 ms and stops the stack before its next mini-batch (or inside an evaluation pass).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .messages import Ended, Epoch, Event, Failed, Started, Step, TrainRequest

STOP_POLL_SECONDS = 0.05  # how often the watcher asks ``stopped()`` while the stack trains


class _SeedView:
    """One seed of a stacked training as the observers see it: a ``Trainer`` on that seed's data whose
    network, epoch and history are the stack's, refreshed when asked."""

    def __init__(self, stacked, index: int, variants) -> None:
        from .trainer import Trainer

        seed = stacked.seeds[index]
        self.stacked, self.seed = stacked, seed
        self.trainer = Trainer(stacked.configs[index], data=stacked.data[index], variants=variants)
        self.trainer.history = stacked.histories[seed]
        self.fresh_at = -1

    def refreshed(self):
        """The per-seed ``Trainer``, its network the stack's member as it is now."""
        if self.fresh_at != self.stacked.epoch:
            self.trainer.model = self.stacked.member(self.seed).to(self.stacked.device)
            self.fresh_at = self.stacked.epoch
        self.trainer.epoch = self.stacked.epoch
        return self.trainer


def train_stacked(request: TrainRequest, emit: Callable[[Event], None], stopped: Callable[[], bool]) -> bool:
    """Train every seed of ``request`` in one stacked network, emitting each seed's events; False (nothing
    emitted) when the seeds' data turn out not to stack (then they train one after another)."""
    import torch

    from ..config import TrainConfig
    from ..errors import ProcrustesError, TrainingDiverged
    from ..methods.posthoc import PostHoc
    from .checkpoint import network_header, save_checkpoint
    from .observers import build_observers
    from .stacked import NOT_STACKABLE, StackedTrainer

    serial, seeds = request.serial, request.seed_list()
    open_seeds = list(seeds)  # seeds that have not sent their last event yet
    stacked = None

    def warnings(seed: int) -> tuple[str, ...]:
        return tuple(stacked.histories[seed].warnings) if stacked is not None else ()

    def fail(seed: int, message: str, diverged: bool = False) -> None:
        if seed in open_seeds:
            open_seeds.remove(seed)
            emit(Failed(serial, seed, message, diverged, warnings(seed)))

    done = threading.Event()
    try:
        config = TrainConfig.from_dict(request.config)
        torch.set_num_threads(config.threads or 1)
        variants = {name: PostHoc(**setting) for name, setting in request.variants.items()}
        try:
            stacked = StackedTrainer(config, seeds, variants)
        except ProcrustesError as err:
            if str(err).startswith(NOT_STACKABLE):
                return False
            raise
        views = {s: _SeedView(stacked, i, variants) for i, s in enumerate(stacked.seeds)} if request.observers else {}
        observers = {s: build_observers(request, views[s].trainer) for s in views}
        for seed, data in zip(stacked.seeds, stacked.data):
            emit(Started(serial, seed, list(data.counts), data.groups, list(data.class_names), stacked.threads))
        threading.Thread(target=_watch, args=(stacked, stopped, done), daemon=True,
                         name="procrustes-stop-watcher").start()
        for event in stacked.steps(every_seconds=request.every_seconds):
            for seed, seen in event.events.items():
                if seed not in open_seeds:
                    continue
                if not event.is_record:
                    emit(Step(serial, seed, seen))
                    continue
                try:
                    mine = observers.get(seed, {})
                    observed = {name: o.epoch(views[seed].refreshed(), seen) for name, o in mine.items()}
                except TrainingDiverged as err:
                    fail(seed, str(err), True)
                    continue
                emit(Epoch(serial, seed, seen, {k: v for k, v in observed.items() if v is not None},
                           warnings(seed)))
            for seed in sorted(stacked.diverged):
                fail(seed, stacked.histories[seed].stopped or "training diverged", True)
            if stopped():
                stacked.stop("stopped")
                break
        finished = stacked.epoch >= config.epochs
        for seed in list(open_seeds):
            index = stacked.seeds.index(seed)
            made: dict[str, Any] = {}
            if observers.get(seed):
                view = views[seed].refreshed()
                made = {name: o.end(view) for name, o in observers[seed].items()}
            if request.checkpoint:
                seed_config = stacked.configs[index]
                save_checkpoint(stacked.member(seed), network_header(seed_config, stacked.data[index]),
                                request.checkpoint.replace("{seed}", str(seed)), seed_config, stacked.epoch)
            open_seeds.remove(seed)
            emit(Ended(serial, seed, None if finished else f"stopped after {stacked.epoch} epochs",
                       {k: v for k, v in made.items() if v is not None}, warnings(seed)))
    except ProcrustesError as err:
        for seed in list(open_seeds):
            fail(seed, str(err))
    except Exception as err:  # noqa: BLE001 - a bug must reach the learner as one line, not kill the worker
        for seed in list(open_seeds):
            fail(seed, f"training failed: {type(err).__name__}: {err}")
    finally:
        done.set()
    return True


def _watch(stacked, stopped: Callable[[], bool], done: threading.Event) -> None:
    """Stop ``stacked`` before its next mini-batch once ``stopped()`` says so (or end with the training)."""
    while not done.wait(STOP_POLL_SECONDS):
        if stopped():
            stacked.stop("stopped")
            return
