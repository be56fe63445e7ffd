"""Train settings on several seeds at once: a setting's seeds stacked in one network (``stacked.py``), on
worker processes with one torch thread each, the seeds split into as many stacks as leave no worker idle.

    histories = run_seeds(config, seeds=[0, 1, 2, 3, 4])                 # one RunHistory per seed
    both = run_seeds({"ERM": erm, "MFW": mfw}, seeds=range(5))           # {"ERM": [...], "MFW": [...]}

The same seeds mean the same data subsets, initial weights and batch orders, so two settings run on
the same seeds are paired (``analysis.seeds.compare_runs_paired``). Runs go through the training
service (``service.py``) on a local pool sized to the machine. The pool is kept between calls (a
lesson calls this several times; starting workers costs a few seconds each time) and ended after
``IDLE_SECONDS`` without a call, or when the process exits.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping

from ..analysis.history import RunHistory
from ..config import TrainConfig
from ..errors import ProcrustesError
from ..methods.posthoc import PostHoc
from ..names import MAX_SEEDS, check_seeds
from .budget import Budget


def run_seeds(configs: TrainConfig | Mapping[str, TrainConfig], seeds: Iterable[int], workers: int | None = None,
              variants: dict[str, PostHoc] | None = None,
              progress: Callable[[int, int], None] | None = None) -> list[RunHistory] | dict[str, list[RunHistory]]:
    """Train every config on every seed; returns the histories in seed order (a dict for a mapping).

    A training that fails ends with its error in ``history.stopped`` (a diverged run keeps its epochs);
    one that could not start at all raises its one-line error."""
    seed_list = check_seeds(seeds)
    named = dict(configs) if isinstance(configs, Mapping) else {"run": configs}
    total = len(named) * len(seed_list)
    pool_size = max(1, workers or os.cpu_count() or 1)
    service = _shared_service(pool_size)
    job = None
    try:
        # each setting's seeds stacked, split so that every worker has a stack to train
        job = service.submit(f"run_seeds-{uuid.uuid4().hex}", list(named.items()), seeds=seed_list,
                             variants=variants, parts=max(1, pool_size // len(named)))
        while service.view(job).training:
            if progress is not None:
                view = service.view(job)
                progress(sum(not t.active for t in view.job.tasks), total)
            time.sleep(0.1)
        tasks = service.view(job).job.tasks
    finally:
        if job is not None:
            service.forget(job)  # stopped at once if the caller was interrupted
        _release(pool_size)
    unstarted = [t for t in tasks if t.history is None]
    if unstarted:
        raise ProcrustesError(unstarted[0].error or "a training could not start")
    found = {name: [t.history for t in tasks if t.label == name] for name in named}
    return found if isinstance(configs, Mapping) else found["run"]


IDLE_SECONDS = 120.0  # the shared pool's workers end after this long without a call
_SHARED: dict[int, object] = {}  # worker count -> TrainingService
_USERS: dict[int, int] = {}
_TIMERS: dict[int, threading.Timer] = {}
_LOCK = threading.Lock()


def _shared_service(workers: int):
    """The pool of ``workers`` workers this process keeps between calls (started on first use)."""
    from .service import TrainingService

    with _LOCK:
        timer = _TIMERS.pop(workers, None)
        if timer is not None:
            timer.cancel()
        service = _SHARED.get(workers)
        if service is None:
            service = TrainingService(
                workers=workers, threads_per_training=1,
                budget=Budget(max_epochs=10_000, max_train_samples=10**9, max_generated_samples=500_000,
                              max_parameters=10**10, max_seeds=MAX_SEEDS, max_steps=10**12, max_tflop=1e9))
            _SHARED[workers] = service
        _USERS[workers] = _USERS.get(workers, 0) + 1
        return service


def _release(workers: int) -> None:
    """One call done; the pool ends after ``IDLE_SECONDS`` if no other call comes."""
    with _LOCK:
        _USERS[workers] -= 1
        if _USERS[workers] == 0:
            timer = threading.Timer(IDLE_SECONDS, _close_idle, args=(workers,))
            timer.daemon = True
            _TIMERS[workers] = timer
            timer.start()


def _close_idle(workers: int) -> None:
    with _LOCK:
        if _USERS.get(workers, 0):
            return
        service = _SHARED.pop(workers, None)
        _TIMERS.pop(workers, None)
    if service is not None:
        service.close()


@atexit.register
def _close_all() -> None:
    with _LOCK:
        services = list(_SHARED.values())
        _SHARED.clear()
        for timer in _TIMERS.values():
            timer.cancel()
        _TIMERS.clear()
    for service in services:
        service.close()
