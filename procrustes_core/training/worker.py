"""Train and ship: the one function that trains a request where a worker runs it (this process, a local
process or a Ray actor) and sends everything back as typed events (``messages.py``).

``train_and_ship(request, emit, stopped)`` trains the request's seeds and calls ``emit(event)`` for each
event. Several seeds of a config that ``stacked.stackable`` accepts (or the members of configs with one
``stacked.stack_key``, ``TrainRequest.members``) train together as one stacked network
(``stacked.StackedTrainer``): every seed's ``Started``, then each seed's ``Step`` / ``Epoch`` as they all
advance, then each seed's ``Ended`` (a seed that diverges sends its ``Failed`` alone and the others go
on). Otherwise (one seed, or a config that cannot stack) the seeds train one after another. ``stopped()``
is asked between two events, and every 50 ms by a watcher while a stacked request trains, which then
stops it before its next mini-batch: when it returns True the training ends there and the request's
later seeds are not trained. Every failure becomes one ``Failed`` event with one line. Nothing is written
to disk except a checkpoint the request asks for (``{seed}`` in its path): the caller builds and keeps the
histories.
"""

from __future__ import annotations

from collections.abc import Callable

from .messages import Ended, Epoch, Event, Failed, Started, Step, TrainRequest

Emit = Callable[[Event], None]


def train_and_ship(request: TrainRequest, emit: Emit, stopped: Callable[[], bool]) -> None:
    """Train every seed of ``request`` (stacked when they can be, else in turn), emitting their events."""
    if len(request.seed_list()) > 1 and _stacks(request):
        from .shipping import train_stacked

        if train_stacked(request, emit, stopped):
            return
    for n, seed in enumerate(request.seed_list()):
        if n and stopped():
            return
        _train_seed(request, n, seed, emit, stopped)


def _stacks(request: TrainRequest) -> bool:
    """Whether the request's seeds train stacked: each member's config stacks, all with one ``stack_key``
    (a config that does not even load trains seed by seed, where each seed reports the one line)."""
    from ..config import TrainConfig
    from .stacked import stack_key

    try:
        keys = {stack_key(TrainConfig.from_dict(c)) for c in request.member_configs()}
    except Exception:  # noqa: BLE001 - the seed-by-seed path reports a bad config as one Failed per seed
        return False
    return len(keys) == 1 and None not in keys


def _train_seed(request: TrainRequest, member: int, seed: int, emit: Emit, stopped: Callable[[], bool]) -> None:
    import torch

    from ..config import TrainConfig
    from ..errors import ProcrustesError, TrainingDiverged
    from ..methods.posthoc import PostHoc
    from .events import StepEvent
    from .observers import build_observers
    from .trainer import Trainer

    serial, trainer = request.serial, None
    try:
        config = TrainConfig.from_dict(request.member_configs()[member]).replace(seed=seed)
        torch.set_num_threads(config.threads or 1)
        variants = {name: PostHoc(**setting) for name, setting in request.variants.items()}
        trainer = Trainer(config, variants=variants)
        data = trainer.data
        emit(Started(serial, seed, list(data.counts), data.groups, list(data.class_names), trainer.threads, member))
        observers = build_observers(request, trainer)
        for event in trainer.steps(every_seconds=request.every_seconds):
            if isinstance(event, StepEvent):
                emit(Step(serial, seed, event, member))
            else:
                seen = {name: o.epoch(trainer, event) for name, o in observers.items()}
                emit(Epoch(serial, seed, event, {k: v for k, v in seen.items() if v is not None},
                           tuple(trainer.history.warnings), member))
            if stopped():
                break
        made = {name: o.end(trainer) for name, o in observers.items()}
        if request.checkpoint:
            trainer.save_checkpoint(checkpoint_path(request, member, seed))
        emit(Ended(serial, seed, None if trainer.finished else f"stopped after {trainer.epoch} epochs",
                   {k: v for k, v in made.items() if v is not None}, tuple(trainer.history.warnings), member))
    except TrainingDiverged as err:
        emit(Failed(serial, seed, str(err), True, _warnings(trainer), member))
    except ProcrustesError as err:
        emit(Failed(serial, seed, str(err), False, _warnings(trainer), member))
    except Exception as err:  # noqa: BLE001 - a bug must reach the learner as one line, not kill the worker
        emit(Failed(serial, seed, f"training failed: {type(err).__name__}: {err}", False, _warnings(trainer),
                    member))


def checkpoint_path(request: TrainRequest, member: int, seed: int) -> str:
    """Where a member's network is saved: the request's path with ``{seed}`` (and ``{member}``) filled in."""
    return str(request.checkpoint).replace("{seed}", str(seed)).replace("{member}", str(member))


def _warnings(trainer) -> tuple[str, ...]:
    return tuple(trainer.history.warnings) if trainer is not None else ()


# ---------------------------------------------------------------- a local worker process


def warm_up() -> None:
    """Load, before the first task, what a worker's first training would otherwise load while a learner
    waits for the first chart: torch, the trainer, and the compiler modules that torch's optimisers import
    on first use (about 1.5 s on this machine)."""
    import torch

    from .trainer import Trainer  # noqa: F401

    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def process_main(inbox, outbox, stop_serial, worker: int, driver: int | None = None, warm: bool = False) -> None:
    """A worker process's loop: take a request, stream its events, say when idle; ``None`` ends it. The
    process ends too when its ``driver`` (the process that started it) is gone, even killed with -9."""
    import os
    import signal
    import threading

    from .messages import Idle

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # Ctrl-C (or a notebook's interrupt) reaches the whole process group: the caller stops its trainings
    # itself, and a worker killed by it would only print a traceback and be started again
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if driver is not None:
        threading.Thread(target=_exit_with, args=(driver,), daemon=True).start()
    if warm:  # (only where asked: an idle worker that loaded torch holds about 600 MB for nothing)
        warm_up()
    while True:
        request = inbox.get()
        if request is None:
            return

        def emit(event: Event) -> None:
            outbox.put((worker, event))

        train_and_ship(request, emit, lambda serial=request.serial: stop_serial.value == serial)
        outbox.put((worker, Idle(request.serial)))


def _exit_with(driver: int) -> None:
    """End this process once its driver is gone (its parent changes when the driver dies)."""
    import os
    import time

    while os.getppid() == driver:
        time.sleep(0.5)
    os._exit(1)
