"""The executor: a list of ``TrainRequest``s trained on a backend (serial, local processes or Ray), each
seed's outcome handed back as it finishes; and ``Outcome``, the one place events become a RunHistory.

    def done(outcome): ...                      # outcome.history, .error, .results (observers' output)
    run_batch(requests, done, backend="local", workers=2)

The training service (``service.py``) drives the same backends slot by slot for its live, fair-queued
jobs; sweeps, the lessons and the benchmarks call ``run_batch``, with ``seed_requests`` making one request
of the configs that differ only in their seed (trained stacked, ``stacked.py``). Histories are built in the caller's
process only: workers send events and never write a run file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..analysis.history import RunHistory
from ..config import TrainConfig
from .backends import Backend, one_line, open_backend
from .events import StepEvent
from .messages import Ended, Epoch, Event, Failed, Idle, Started, Step, TrainRequest

MAX_STEPS_KEPT = 400  # step events kept per seed: the running curve of the epoch in progress and a few before
DEAD_WORKER = ("the training process stopped unexpectedly after {epochs} epochs (it was killed, or ran out of "
               "memory); the epochs so far are kept")


@dataclass
class Outcome:
    """What has come back of one seed's training so far: its history as it grows, the latest step events,
    what its observers saw each epoch (``observed[name]``, one per epoch) and made at the end
    (``results[name]``), and how it ended."""

    config: TrainConfig
    variants: dict[str, dict[str, float]] = field(default_factory=dict)
    history: RunHistory | None = None
    steps: list[StepEvent] = field(default_factory=list)
    observed: dict[str, list[Any]] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # one line: why it failed
    diverged: bool = False  # its loss became non-finite (the history holds the epochs before)
    ended: bool = False
    stopped_early: bool = False  # ended before its last epoch because it was asked to stop

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def epochs_done(self) -> int:
        return self.history.records[-1].epoch if self.history is not None and self.history.records else 0

    def receive(self, event: Event) -> None:
        """Take one event of this seed's training."""
        if isinstance(event, Started):
            self.history = RunHistory(self.config, list(event.counts), event.groups, list(event.class_names),
                                      threads=event.threads, variants=dict(self.variants))
        elif isinstance(event, Step):
            self.steps.append(event.step)
            del self.steps[:-MAX_STEPS_KEPT]
        elif isinstance(event, Epoch) and self.history is not None:
            self.history.records.append(event.record)
            self.history.warnings = list(event.warnings)
            for name, seen in event.observed.items():
                self.observed.setdefault(name, []).append(seen)
        elif isinstance(event, Ended):
            self.ended, self.results = True, dict(event.results)
            self.stopped_early = event.stopped is not None
            if self.history is not None:
                self.history.warnings = list(event.warnings)
        elif isinstance(event, Failed):
            self.fail(event.message)
            self.diverged = event.diverged
            if self.history is not None:
                self.history.warnings = list(event.warnings) or self.history.warnings

    def fail(self, message: str) -> None:
        """End with one line (kept in the history's ``stopped`` with the epochs so far)."""
        self.ended, self.error = True, message
        if self.history is not None:
            self.history.stopped = message


def outcomes_of(request: TrainRequest) -> dict[int, Outcome]:
    """An empty outcome for each member of ``request`` (a seed with its config), keyed by its place in it."""
    configs = request.member_configs()
    return {m: Outcome(TrainConfig.from_dict(configs[m]).replace(seed=seed), dict(request.variants))
            for m, seed in enumerate(request.seed_list())}


def seed_requests(configs: Sequence[TrainConfig],
                  make: Callable[[int, TrainConfig, tuple[int, ...]], TrainRequest] | None = None,
                  labels: Sequence[str] | None = None) -> tuple[list[TrainRequest], dict[tuple[int, int], int]]:
    """Requests that train ``configs``: those that differ only in their seed and stack (``stackable``) share
    one request (serial: the first one's index), the others have one each; and for each request serial and
    seed, the index of its config. ``make(serial, config, seeds)`` builds a request (default: plain);
    ``labels`` keep configs of different labels in different requests."""
    from .stacked import stackable

    make = make or (lambda serial, config, seeds: TrainRequest(serial, config.to_dict(), seeds))
    groups: dict[str, list[int]] = {}
    for i, config in enumerate(configs):
        label = labels[i] if labels is not None else ""
        key = (f"{label}|{sorted(config.replace(seed=0).to_dict().items())!r}" if stackable(config)[0]
               else f"alone-{i}")
        groups.setdefault(key, []).append(i)
    requests, where = [], {}
    for members in groups.values():
        bundles: list[list[int]] = []  # the same config twice on a seed: the second goes to another request
        for i in members:
            free = next((b for b in bundles if all(configs[j].seed != configs[i].seed for j in b)), None)
            if free is None:
                bundles.append([i])
            else:
                free.append(i)
        for group in bundles:
            first = group[0]
            requests.append(make(first, configs[first], tuple(configs[i].seed for i in group)))
            where.update({(first, configs[i].seed): i for i in group})
    return requests, where


def run_batch(requests: Sequence[TrainRequest], done: Callable[[TrainRequest, Outcome], None],
              backend: str = "serial", workers: int | None = None, address: str | None = None) -> None:
    """Train every request on ``backend`` (``workers`` slots; Ray: the cluster's CPUs when None) and call
    ``done(request, outcome)`` for each seed as its request finishes. A worker that dies fails its request's
    seeds with one line and is replaced. An exception in ``done`` (or Ctrl-C) ends the workers and the
    requests still queued are not trained; a backend that cannot start is one line before anything runs."""
    todo = list(requests)
    if not todo:
        return
    pool = open_backend(backend, min(workers or len(todo), len(todo)) if backend != "ray" else workers, address)
    try:
        drive(pool, todo, done)
    finally:
        pool.close()


def drive(pool: Backend, requests: Sequence[TrainRequest], done: Callable[[TrainRequest, Outcome], None]) -> None:
    """``run_batch`` on a backend the caller opened (and closes)."""
    todo = list(requests)
    busy: dict[int, tuple[TrainRequest, dict[int, Outcome]]] = {}
    last_check = time.monotonic()
    while todo or busy:
        for slot in range(pool.slots):
            if todo and slot not in busy and pool.ready(slot):
                request = todo.pop(0)
                busy[slot] = (request, outcomes_of(request))
                pool.start(slot, request)
        for slot, event in pool.collect(timeout=0.05):
            if slot not in busy:
                continue
            request, outcomes = busy[slot]
            if isinstance(event, Idle):
                del busy[slot]
                _hand_back(request, outcomes, done)
            elif event.member in outcomes and outcomes[event.member].seed == event.seed:
                outcomes[event.member].receive(event)
        if time.monotonic() - last_check >= 1.0:
            last_check = time.monotonic()
            for slot in [s for s in busy if not pool.alive(s)]:
                request, outcomes = busy.pop(slot)
                for outcome in outcomes.values():
                    if not outcome.ended:
                        outcome.fail(DEAD_WORKER.format(epochs=outcome.epochs_done))
                pool.restart(slot)
                _hand_back(request, outcomes, done)


def _hand_back(request: TrainRequest, outcomes: dict[int, Outcome], done) -> None:
    for outcome in outcomes.values():
        if not outcome.ended:  # a seed not trained: its request was stopped before it
            outcome.fail("not trained: the request was stopped before this seed")
        done(request, outcome)


__all__ = ["DEAD_WORKER", "Outcome", "drive", "outcomes_of", "run_batch", "one_line"]
