"""The training service: trainings run in worker processes (or on a Ray cluster), never in the
caller's thread, and stream their events back; a front submits, polls and stops.

    service = TrainingService(workers=2)                      # a local pool (Ray: backend="ray")
    job = service.submit("learner-1", [("ERM", config)], seeds=[0, 1, 2])
    view = service.view(job)        # status, queue position and wait, one RunHistory per run and seed
    service.stop(job)               # ends within one step event; the worker is free when it says so

- **Slots are compute.** A slot is a worker; a request holds it from the moment it starts until the
  worker reports itself idle again — stopping it does not free its slot early. A request is a run's
  seeds trained together in one stacked network when its config stacks (``stacked.stackable``: one
  slot, all seeds advancing together), else one seed; either way each seed is a task of its own on the
  page. An owner (a browser session) runs at most ``owner_slots`` requests at once, and a new job of an
  owner replaces (stops) its previous one.
- **A budget.** Every request is priced before anything runs (``budget.py``) and refused in one line
  when it exceeds a cap; datasets are built by the worker that trains, after pricing. Stacked seeds are
  reckoned at their measured cost (``Price.effort``), so the wait said is the wait.
- **A fair queue.** Free slots go round-robin to the owners with waiting requests, the least recently
  served first; ``view`` tells a waiting job its position (requests ahead) and about how long it will wait.
- **Owners that leave.** ``owner_alive(owner)`` (the app passes one) is asked every second; an owner
  gone has its queued tasks dropped and its running ones stopped. A job not viewed for
  ``abandon_seconds`` is treated the same way.
- **Workers that die.** A worker killed mid-training (kill -9, out of memory) ends that task with one
  line and the epochs so far; a fresh worker takes its slot; the others carry on.
- **Histories are written here only**: workers send typed events (``messages.py``); this process builds
  each RunHistory (``executor.Outcome``).

This module is the scheduler and its fair queue; the slots are a backend of ``backends.py`` (local
processes or Ray actors), trainings run ``worker.train_and_ship``, and pages get frozen views
(``jobs.py``: ``JobView``, ``TaskView``, ``Status``).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..config import TrainConfig
from ..errors import ProcrustesError
from ..methods.posthoc import PostHoc
from ..names import check_seeds
from .backends import open_backend
from .budget import Budget, Price
from .executor import DEAD_WORKER, MAX_STEPS_KEPT, Outcome
from .jobs import ENDED, Job, JobView, Status, Task, TaskView, job_state, summary
from .messages import Ended, Event, Failed, Idle, TrainRequest
from .observers import OBSERVERS

BACKENDS = ("local", "ray")
DEFAULT_FLOPS_PER_SECOND = 3e10  # one slot, before any training has been measured

__all__ = ["BACKENDS", "DEAD_WORKER", "MAX_STEPS_KEPT", "Job", "JobView", "Status", "Task", "TaskView",
           "TrainingService"]


class TrainingService:
    """Trainings on worker processes or a Ray cluster; see the module docstring."""

    def __init__(self, workers: int = 2, backend: str = "local", budget: Budget | None = None,
                 owner_slots: int | None = None, address: str | None = None,
                 owner_alive: Callable[[str], bool] | None = None, abandon_seconds: float = 60.0,
                 every_seconds: float = 0.25, threads_per_training: int = 1):
        if backend not in BACKENDS:
            raise ProcrustesError(f"backend={backend!r}: expected one of {', '.join(BACKENDS)}")
        if workers < 1:
            raise ProcrustesError(f"workers={workers}: expected at least 1 training slot")
        self.budget = budget or Budget()
        self.slots = workers
        self.owner_slots = owner_slots or workers
        self.owner_alive = owner_alive
        self.abandon_seconds = abandon_seconds
        self.every_seconds = every_seconds
        self.threads = threads_per_training
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._tasks: dict[int, Task] = {}
        self._requests: dict[int, list[Task]] = {}  # a request's serial → its tasks (one per seed)
        self._serials = itertools.count(1)
        self._served: dict[str, float] = {}  # owner → when a slot last went to it
        self._finished: list[dict[str, Any]] = []  # summaries of finished runs, for a teacher
        self._seconds_per_flop: float | None = None
        self._closing = False
        self._pool = open_backend(backend, workers, address, warm=True)
        self._busy: dict[int, int] = {}  # worker → serial of the request it holds
        self._thread = threading.Thread(target=self._loop, name="procrustes-training-service", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the front's side

    def price(self, config: TrainConfig, seeds: int = 1) -> Price:
        """The price of a request, or one line naming the cap it exceeds."""
        return self.budget.check(config, seeds)

    def submit(self, owner: str, runs: Sequence[tuple[str, TrainConfig]], seeds: Sequence[int] | None = None,
               variants: dict[str, PostHoc] | None = None, kind: str = "train", tag: str = "",
               extras: Sequence[str] = (), parts: int = 1) -> str:
        """Queue every run on every seed (priced first: one line if over budget); an owner's previous
        active job is stopped. Returns the job's id. A run's seeds that stack are one request (an owner with
        one slot: the runs of one ``stack_key`` are one joint request, where ``joint_pays``); ``parts`` > 1
        splits them into that many stacked requests (a front with the machine to itself, on several
        slots: its parts may then start at different times)."""
        if not runs:
            raise ProcrustesError("nothing to train: no run given")
        unknown = [name for name in extras if name not in OBSERVERS]
        if unknown:
            raise ProcrustesError(f"extras: {unknown[0]!r} is not an observer; expected one of {', '.join(OBSERVERS)}")
        from .stacked import joint_pays, stack_key, stackable

        seed_list = check_seeds(seeds, limit=None) if seeds is not None else None  # the budget caps how many
        count = len(seed_list) if seed_list is not None else 1
        tasks, requests, job_id = [], [], uuid.uuid4().hex[:12]
        variant_settings = {n: vars(p) for n, p in (variants or {}).items()}
        configs = [config.replace(threads=self.threads) for _, config in runs]
        costs = self.budget.check_all(configs, count)  # each run, then the whole request
        keys = {stack_key(c) for c in configs}
        # an owner with one slot trains runs that differ only in their method (a Compare) as one stack, where
        # that pays (``joint_pays``)
        joint = (len(runs) > 1 and parts <= 1 and min(self.owner_slots, self.slots) == 1
                 and len(keys) == 1 and None not in keys and joint_pays(configs[0]))
        for run, ((label, _), config, cost) in enumerate(zip(runs, configs, costs)):
            run_seeds = seed_list if seed_list is not None else [config.seed]
            together = len(run_seeds) > 1 and stackable(config)[0]
            for chunk in _split(run_seeds, max(1, parts) if together else len(run_seeds)):
                members = len(chunk) * len(runs) if joint else len(chunk)
                chunk_cost = replace(cost, seeds=members, stacked=members > 1)
                found = [Task(0, job_id, run, label, config.replace(seed=seed), chunk_cost,
                              Outcome(config.replace(seed=seed), dict(variant_settings))) for seed in chunk]
                tasks += found
                if joint and requests:
                    requests[0] += found
                else:
                    requests.append(found)
        with self._lock:
            for job in self._jobs.values():
                if job.owner == owner and job.status in (Status.QUEUED, Status.RUNNING):
                    self._stop_job(job, "replaced by a new training")
            for task in tasks:
                task.serial = next(self._serials)
                self._tasks[task.serial] = task
            for request in requests:
                for task in request:
                    task.bundle = request[0].serial
                self._requests[request[0].serial] = request
            self._jobs[job_id] = Job(job_id, owner, kind, [label for label, _ in runs], tasks, dict(variants or {}),
                                     time.monotonic(), tag, time.monotonic(), tuple(extras))
            if not self._closing:
                self._assign()  # a free slot is taken now: the page drawn next sees "training", not "queued"
        return job_id

    def view(self, job_id: str) -> JobView:
        """The job now (and a sign of life from its owner)."""
        with self._lock:
            job = self._job(job_id)
            job.last_seen = time.monotonic()
            position = self._position(job)
            wait = None if position is None else self._wait(position, job)
            return JobView(job_state(job), position, wait)

    def stop(self, job_id: str, reason: str = "stopped by the learner") -> None:
        with self._lock:
            self._stop_job(self._job(job_id), reason)

    def forget(self, job_id: str) -> None:
        """Stop a job and drop it."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._stop_job(job, "stopped by the learner")
                if not any(t.status.computing for t in job.tasks):
                    self._drop(job)

    def jobs(self) -> list[JobView]:
        """Every job the service holds (for a teacher's page)."""
        with self._lock:
            return [JobView(job_state(j), self._position(j), None) for j in self._jobs.values()]

    def live_jobs(self) -> int:
        """Jobs queued or training right now, of every owner (how many pages are following one live)."""
        with self._lock:
            return sum(j.status in (Status.QUEUED, Status.RUNNING) for j in self._jobs.values())

    def finished_runs(self) -> list[dict[str, Any]]:
        """One summary per finished or stopped training: owner, tag, label, seed, final scores."""
        with self._lock:
            return list(self._finished)

    @property
    def seconds_per_flop(self) -> float | None:
        """Seconds a slot has taken per priced FLOP of the trainings finished so far (a running mean), or
        None before the first one finished (a teacher's capacity note)."""
        with self._lock:
            return self._seconds_per_flop

    def busy_workers(self) -> int:
        """Workers computing right now (a stopped task's worker counts until it reports idle)."""
        with self._lock:
            return len(self._busy)

    def close(self) -> None:
        """Stop everything and end the workers."""
        with self._lock:
            self._closing = True
            for job in list(self._jobs.values()):
                self._stop_job(job, "the server is shutting down")
        self._thread.join(timeout=5)
        self._pool.close()

    # ------------------------------------------------------------------ the dispatcher's side

    def _job(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise ProcrustesError(f"job {job_id!r}: no such training (it ended, or the server restarted)")
        return job

    def _stop_job(self, job: Job, reason: str) -> None:
        for task in job.tasks:
            if task.status == Status.QUEUED:
                task.status, task.ended, task.stop_reason = Status.STOPPED, time.monotonic(), reason
            elif task.status == Status.RUNNING:
                task.status, task.stop_reason = Status.STOPPING, reason
                self._pool.stop(task.worker, task.bundle)

    def _drop(self, job: Job) -> None:
        for task in job.tasks:
            self._tasks.pop(task.serial, None)
            self._requests.pop(task.bundle, None)
        self._jobs.pop(job.id, None)

    def _queued_by_owner(self) -> dict[str, list[list[Task]]]:
        """Each owner's waiting requests (each a list of tasks), oldest job first."""
        queued: dict[str, list[list[Task]]] = {}
        for job in sorted(self._jobs.values(), key=lambda j: j.created):
            bundles = dict.fromkeys(t.bundle for t in job.tasks if t.status == Status.QUEUED)
            queued.setdefault(job.owner, []).extend(self._requests[b] for b in bundles if b in self._requests)
        return {owner: requests for owner, requests in queued.items() if requests}

    def _running_of(self, owner: str) -> int:
        return sum(1 for serial in self._busy.values() if self._requests.get(serial)
                   and self._jobs.get(self._requests[serial][0].job) is not None
                   and self._jobs[self._requests[serial][0].job].owner == owner)

    def _fair_order(self) -> list[list[Task]]:
        """Every waiting request in the order free slots would take them: round-robin over owners, the
        least recently served first, each owner's requests oldest first."""
        queues = {o: list(rs) for o, rs in self._queued_by_owner().items()}
        owners = sorted(queues, key=lambda o: self._served.get(o, 0.0))
        order = []
        while any(queues.values()):
            for owner in owners:
                if queues[owner]:
                    order.append(queues[owner].pop(0))
        return order

    def _position(self, job: Job) -> int | None:
        order = self._fair_order()
        mine = [i for i, request in enumerate(order) if request[0].job == job.id]
        return mine[0] if mine else None

    def _wait(self, position: int, job: Job) -> float:
        """About how long until the job's next request starts: the work ahead spread over the slots."""
        order = self._fair_order()[:position]
        running = [self._requests[s] for s in self._busy.values() if s in self._requests]
        ahead = sum(r[0].price.effort for r in order) + sum(
            r[0].price.effort * max(0.0, 1 - min(t.epochs_done for t in r) / max(1, r[0].config.epochs))
            for r in running)
        return ahead * (self._seconds_per_flop or 1 / DEFAULT_FLOPS_PER_SECOND) / self.slots

    def _assign(self) -> None:
        """Give free workers to waiting requests, fairly."""
        free = [w for w in range(self.slots) if w not in self._busy and self._pool.ready(w)]
        if not free:
            return
        for request in self._fair_order():
            if not free:
                return
            first = request[0]
            job = self._jobs[first.job]
            if self._running_of(job.owner) >= self.owner_slots:
                continue
            worker = free.pop(0)
            now = time.monotonic()
            for task in request:
                task.status, task.worker, task.started = Status.RUNNING, worker, now
            self._busy[worker] = first.bundle
            self._served[job.owner] = now
            joint = len({t.run for t in request}) > 1  # members of several runs in one stack
            self._pool.start(worker, TrainRequest(
                first.bundle, first.config.to_dict(), tuple(t.seed for t in request),
                {n: vars(p) for n, p in job.variants.items()}, job.extras, self.every_seconds,
                members=tuple(t.config.to_dict() for t in request) if joint else ()))

    def _handle(self, worker: int, event: Event) -> None:
        request = self._requests.get(event.serial, [])
        if isinstance(event, Idle):
            if self._busy.get(worker) == event.serial:
                del self._busy[worker]
            for task in request:
                if task.status.computing:
                    self._end(task, Status.STOPPED if task.status == Status.STOPPING else Status.FINISHED)
            return
        task = request[event.member] if event.member < len(request) else None
        if task is None or task.seed != event.seed:
            return
        task.outcome.receive(event)
        if isinstance(event, Ended) and event.stopped and task.history is not None and not task.history.stopped:
            task.history.stopped = f"{task.stop_reason or 'stopped'} after {task.epochs_done} epochs"
        elif isinstance(event, Failed):
            self._end(task, Status.FAILED)

    def _end(self, task: Task, status: Status) -> None:
        if task.status in ENDED:
            return
        task.status, task.ended = status, time.monotonic()
        if task.started is not None and status == Status.FINISHED and task.price.effort:
            measured = (task.ended - task.started) / task.price.effort
            self._seconds_per_flop = measured if self._seconds_per_flop is None else (
                0.8 * self._seconds_per_flop + 0.2 * measured)
        job = self._jobs.get(task.job)
        if job is not None and task.history is not None and task.history.records:
            self._finished.append({**summary(job, task), "ended": time.time()})
            del self._finished[:-5000]

    def _check_owners(self, now: float) -> None:
        for job in list(self._jobs.values()):
            if job.status not in (Status.QUEUED, Status.RUNNING):
                continue
            gone = now - job.last_seen > self.abandon_seconds
            if not gone and self.owner_alive is not None:
                try:
                    gone = not self.owner_alive(job.owner)
                except Exception:  # noqa: BLE001 - a failing check must not stop the dispatcher
                    gone = False
            if gone:
                self._stop_job(job, "the learner left")

    def _check_workers(self) -> None:
        for worker, serial in list(self._busy.items()):
            if self._pool.alive(worker):
                continue
            del self._busy[worker]
            self._pool.restart(worker)
            for task in self._requests.get(serial, []):  # every seed of its request still training
                if task.status.computing:
                    task.outcome.fail(DEAD_WORKER.format(epochs=task.epochs_done))
                    self._end(task, Status.FAILED if task.status == Status.RUNNING else Status.STOPPED)

    def _loop(self) -> None:
        last_check = 0.0
        while True:
            for worker, event in self._pool.collect(timeout=0.05):
                with self._lock:
                    self._handle(worker, event)
            now = time.monotonic()
            with self._lock:
                if self._closing and not self._busy:
                    return
                if now - last_check >= 1.0:
                    self._check_owners(now)
                    self._check_workers()
                    last_check = now
                if not self._closing:
                    self._assign()


def _split(seeds: list[int], parts: int) -> list[list[int]]:
    """``seeds`` in ``parts`` runs of consecutive seeds, as even as can be (never an empty one)."""
    parts = min(parts, len(seeds))
    size, extra = divmod(len(seeds), parts)
    found, start = [], 0
    for i in range(parts):
        end = start + size + (i < extra)
        found.append(seeds[start:end])
        start = end
    return found
