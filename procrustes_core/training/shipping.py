"""A request's seeds trained stacked (``stacked.StackedTrainer``) and shipped as each seed's own events.

A request with ``members`` (configs that differ only in their method) trains them as one stack
(``StackedTrainer.of_members``); every event names its member (the seed's place in the request).

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

        self.stacked, self.key = stacked, stacked.keys[index]
        self.trainer = Trainer(stacked.configs[index], data=stacked.data[index], variants=variants)
        self.trainer.history = stacked.histories[self.key]
        self.fresh_at = -1

    def refreshed(self):
        """The per-seed ``Trainer``, its network the stack's member as it is now."""
        if self.fresh_at != self.stacked.epoch:
            self.trainer.model = self.stacked.member(self.key).to(self.stacked.device)
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
    from .worker import checkpoint_path

    serial, seeds = request.serial, request.seed_list()
    open_members = list(range(len(seeds)))  # members (places in the request) that have not sent their last event
    stacked = None

    def key(member: int) -> int:  # the stack's name for a member: its seed, or (joint stack) its place
        return stacked.keys[member]

    def warnings(member: int) -> tuple[str, ...]:
        return tuple(stacked.histories[key(member)].warnings) if stacked is not None else ()

    def fail(member: int, message: str, diverged: bool = False) -> None:
        if member in open_members:
            open_members.remove(member)
            emit(Failed(serial, seeds[member], message, diverged, warnings(member), member))

    done = threading.Event()
    try:
        configs = [TrainConfig.from_dict(c) for c in request.member_configs()]
        config = configs[0]
        torch.set_num_threads(config.threads or 1)
        variants = {name: PostHoc(**setting) for name, setting in request.variants.items()}
        try:
            stacked = (StackedTrainer.of_members(list(zip(configs, seeds)), variants) if request.members
                       else StackedTrainer(config, seeds, variants))
        except ProcrustesError as err:
            if str(err).startswith(NOT_STACKABLE):
                return False
            raise
        members = range(len(seeds))
        views = {m: _SeedView(stacked, m, variants) for m in members} if request.observers else {}
        observers = {m: build_observers(request, views[m].trainer) for m in views}
        for m, data in zip(members, stacked.data):
            emit(Started(serial, seeds[m], list(data.counts), data.groups, list(data.class_names), stacked.threads, m))
        threading.Thread(target=_watch, args=(stacked, stopped, done), daemon=True,
                         name="procrustes-stop-watcher").start()
        for event in stacked.steps(every_seconds=request.every_seconds):
            for m in members:
                seen = event.events.get(key(m))
                if seen is None or m not in open_members:
                    continue
                if not event.is_record:
                    emit(Step(serial, seeds[m], seen, m))
                    continue
                try:
                    mine = observers.get(m, {})
                    observed = {name: o.epoch(views[m].refreshed(), seen) for name, o in mine.items()}
                except TrainingDiverged as err:
                    fail(m, str(err), True)
                    continue
                emit(Epoch(serial, seeds[m], seen, {k: v for k, v in observed.items() if v is not None},
                           warnings(m), m))
            for m in members:
                if key(m) in stacked.diverged:
                    fail(m, stacked.histories[key(m)].stopped or "training diverged", True)
            if stopped():
                stacked.stop("stopped")
                break
        finished = stacked.epoch >= config.epochs
        for m in list(open_members):
            made: dict[str, Any] = {}
            if observers.get(m):
                view = views[m].refreshed()
                made = {name: o.end(view) for name, o in observers[m].items()}
            if request.checkpoint:
                member_config = stacked.configs[m]
                save_checkpoint(stacked.member(key(m)), network_header(member_config, stacked.data[m]),
                                checkpoint_path(request, m, seeds[m]), member_config, stacked.epoch)
            open_members.remove(m)
            emit(Ended(serial, seeds[m], None if finished else f"stopped after {stacked.epoch} epochs",
                       {k: v for k, v in made.items() if v is not None}, warnings(m), m))
    except ProcrustesError as err:
        for m in list(open_members):
            fail(m, str(err))
    except Exception as err:  # noqa: BLE001 - a bug must reach the learner as one line, not kill the worker
        for m in list(open_members):
            fail(m, f"training failed: {type(err).__name__}: {err}")
    finally:
        done.set()
    return True


def _watch(stacked, stopped: Callable[[], bool], done: threading.Event) -> None:
    """Stop ``stacked`` before its next mini-batch once ``stopped()`` says so (or end with the training)."""
    while not done.wait(STOP_POLL_SECONDS):
        if stopped():
            stacked.stop("stopped")
            return
