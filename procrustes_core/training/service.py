"""The training service: trainings run in worker processes (or on a Ray cluster), never in the
caller's thread, and stream their events back; a front submits, polls and stops.

    service = TrainingService(workers=2)                      # a local pool (Ray: backend="ray")
    job = service.submit("learner-1", [("ERM", config)], seeds=[0, 1, 2])
    view = service.view(job)        # status, queue position and wait, one RunHistory per run and seed
    service.stop(job)               # ends within one step event; the worker is free when it says so

- **Slots are compute.** A slot is a worker; a task (one config on one seed) holds it from the moment
  it starts until the worker reports itself idle again — stopping a task does not free its slot
  early. An owner (a browser session) runs at most ``owner_slots`` tasks at once, and a new job of an
  owner replaces (stops) its previous one.
- **A budget.** Every request is priced before anything runs (``budget.py``) and refused in one line
  when it exceeds a cap; datasets are built by the worker that trains, after pricing.
- **A fair queue.** Free slots go round-robin to the owners with waiting tasks, the least recently
  served first; ``view`` tells a waiting job its position and about how long it will wait.
- **Owners that leave.** ``owner_alive(owner)`` (the app passes one) is asked every second; an owner
  gone has its queued tasks dropped and its running ones stopped. A job not viewed for
  ``abandon_seconds`` is treated the same way.
- **Workers that die.** A worker killed mid-training (kill -9, out of memory) ends that task with one
  line and the epochs so far; a fresh worker takes its slot; the others carry on.
- **Histories are written here only**: workers send records; this process builds each RunHistory.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..analysis.history import EpochRecord, RunHistory
from ..config import TrainConfig
from ..errors import ProcrustesError
from ..methods.posthoc import PostHoc
from ..names import check_seeds
from .budget import Budget, Price
from .events import StepEvent
from .spawn import bare_main
from .worker import process_main, run_task

BACKENDS = ("local", "ray")
DEAD_WORKER = ("the training process stopped unexpectedly after {epochs} epochs (it was killed, or ran out of "
               "memory); the epochs so far are kept")
DEFAULT_FLOPS_PER_SECOND = 3e10  # one slot, before any training has been measured
MAX_STEPS_KEPT = 400  # step events kept per task: the running curve of the epoch in progress and a few before


@dataclass
class Task:
    """One training of a job: a run's config on one seed."""

    serial: int
    job: str
    run: int  # which run of the job (several seeds share it)
    label: str
    config: TrainConfig
    price: Price
    status: str = "queued"  # queued | running | stopping | finished | stopped | failed
    history: RunHistory | None = None
    steps: list[StepEvent] = field(default_factory=list)
    grids: list[dict] = field(default_factory=list)
    points: list[list] = field(default_factory=list)  # live 2-D feature view, one per epoch
    replay: dict | None = None  # every epoch on one fixed projection (at the end)
    probabilities: dict | None = None  # the test split's predicted probabilities and labels (at the end)
    error: str | None = None
    stop_reason: str | None = None  # why it was asked to stop (the learner, a new job, the learner left)
    worker: int | None = None
    started: float | None = None
    ended: float | None = None

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running", "stopping")

    @property
    def epochs_done(self) -> int:
        return self.history.records[-1].epoch if self.history is not None and self.history.records else 0


@dataclass
class Job:
    id: str
    owner: str
    kind: str
    labels: list[str]
    tasks: list[Task]
    variants: dict[str, PostHoc]
    created: float
    tag: str = ""
    last_seen: float = 0.0
    extras: tuple[str, ...] = ()  # what workers also send: "boundary" grids, "features" views, "probabilities"

    @property
    def status(self) -> str:
        states = {t.status for t in self.tasks}
        if states & {"running", "stopping"}:
            return "running"
        if "queued" in states:
            return "running" if any(t.started for t in self.tasks) else "queued"
        if "failed" in states and states <= {"failed"}:
            return "failed"
        return "stopped" if "stopped" in states else ("failed" if "failed" in states else "finished")

    def runs(self) -> list[list[Task]]:
        """The job's tasks grouped by run: ``runs()[r]`` holds run ``r`` on each of its seeds."""
        grouped: dict[int, list[Task]] = {}
        for task in self.tasks:
            grouped.setdefault(task.run, []).append(task)
        return [grouped[r] for r in sorted(grouped)]


def _snapshot(job: Job) -> Job:
    """The job as it is now, with lists that stop growing: a page reads the copy while the service thread
    appends to the original (a page that read a history's records twice could see two lengths)."""
    def frozen(task: Task) -> Task:
        history = task.history
        if history is not None:
            history = replace(history, records=list(history.records), warnings=list(history.warnings))
        return replace(task, history=history, steps=list(task.steps), grids=list(task.grids),
                       points=list(task.points))

    return replace(job, tasks=[frozen(t) for t in job.tasks])


@dataclass
class JobView:
    """What a front needs to draw a job: a snapshot of its tasks (``view`` again for newer events) and its
    wait."""

    job: Job
    position: int | None  # tasks to start before this job's next one (None: nothing of it waits)
    wait_seconds: float | None

    @property
    def status(self) -> str:
        return self.job.status

    @property
    def training(self) -> bool:
        return self.job.status in ("queued", "running")


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
        self._serials = itertools.count(1)
        self._served: dict[str, float] = {}  # owner → when a slot last went to it
        self._finished: list[dict[str, Any]] = []  # summaries of finished runs, for a teacher
        self._seconds_per_flop: float | None = None
        self._closing = False
        self._pool = _LocalPool(workers) if backend == "local" else _RayPool(workers, address)
        self._busy: dict[int, int] = {}  # worker → serial of the task it holds
        self._thread = threading.Thread(target=self._loop, name="procrustes-training-service", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the front's side

    def price(self, config: TrainConfig, seeds: int = 1) -> Price:
        """The price of a request, or one line naming the cap it exceeds."""
        return self.budget.check(config, seeds)

    def submit(self, owner: str, runs: Sequence[tuple[str, TrainConfig]], seeds: Sequence[int] | None = None,
               variants: dict[str, PostHoc] | None = None, kind: str = "train", tag: str = "",
               extras: Sequence[str] = ()) -> str:
        """Queue every run on every seed (priced first: one line if over budget); an owner's previous
        active job is stopped. Returns the job's id."""
        if not runs:
            raise ProcrustesError("nothing to train: no run given")
        seed_list = check_seeds(seeds, limit=None) if seeds is not None else None  # the budget caps how many
        count = len(seed_list) if seed_list is not None else 1
        tasks, job_id = [], uuid.uuid4().hex[:12]
        configs = [config.replace(threads=self.threads) for _, config in runs]
        costs = self.budget.check_all(configs, count)  # each run, then the whole request
        for run, ((label, _), config, cost) in enumerate(zip(runs, configs, costs)):
            for seed in seed_list if seed_list is not None else [config.seed]:
                tasks.append(Task(0, job_id, run, label, config.replace(seed=seed), cost))
        with self._lock:
            for job in self._jobs.values():
                if job.owner == owner and job.status in ("queued", "running"):
                    self._stop_job(job, "replaced by a new training")
            for task in tasks:
                task.serial = next(self._serials)
                self._tasks[task.serial] = task
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
            return JobView(_snapshot(job), position, wait)

    def stop(self, job_id: str, reason: str = "stopped by the learner") -> None:
        with self._lock:
            self._stop_job(self._job(job_id), reason)

    def forget(self, job_id: str) -> None:
        """Stop a job and drop it."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._stop_job(job, "stopped by the learner")
                if not any(t.status in ("running", "stopping") for t in job.tasks):
                    self._drop(job)

    def jobs(self) -> list[JobView]:
        """Every job the service holds (for a teacher's page)."""
        with self._lock:
            return [JobView(_snapshot(j), self._position(j), None) for j in self._jobs.values()]

    def live_jobs(self) -> int:
        """Jobs queued or training right now, of every owner (how many pages are following one live)."""
        with self._lock:
            return sum(j.status in ("queued", "running") for j in self._jobs.values())

    def finished_runs(self) -> list[dict[str, Any]]:
        """One summary per finished or stopped training: owner, tag, label, seed, final scores."""
        with self._lock:
            return list(self._finished)

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
            if task.status == "queued":
                task.status, task.ended, task.stop_reason = "stopped", time.monotonic(), reason
            elif task.status == "running":
                task.status, task.stop_reason = "stopping", reason
                self._pool.stop(task.worker, task.serial)

    def _drop(self, job: Job) -> None:
        for task in job.tasks:
            self._tasks.pop(task.serial, None)
        self._jobs.pop(job.id, None)

    def _queued_by_owner(self) -> dict[str, list[Task]]:
        queued: dict[str, list[Task]] = {}
        for job in sorted(self._jobs.values(), key=lambda j: j.created):
            queued.setdefault(job.owner, []).extend(t for t in job.tasks if t.status == "queued")
        return {owner: tasks for owner, tasks in queued.items() if tasks}

    def _running_of(self, owner: str) -> int:
        return sum(1 for serial in self._busy.values() if self._tasks.get(serial) is not None
                   and self._jobs.get(self._tasks[serial].job) is not None
                   and self._jobs[self._tasks[serial].job].owner == owner)

    def _fair_order(self) -> list[Task]:
        """Every queued task in the order free slots would take them: round-robin over owners, the
        least recently served first, each owner's tasks oldest first."""
        queues = {o: list(ts) for o, ts in self._queued_by_owner().items()}
        owners = sorted(queues, key=lambda o: self._served.get(o, 0.0))
        order = []
        while any(queues.values()):
            for owner in owners:
                if queues[owner]:
                    order.append(queues[owner].pop(0))
        return order

    def _position(self, job: Job) -> int | None:
        order = self._fair_order()
        mine = [i for i, t in enumerate(order) if t.job == job.id]
        return mine[0] if mine else None

    def _wait(self, position: int, job: Job) -> float:
        """About how long until the job's next task starts: the work ahead spread over the slots."""
        order = self._fair_order()[:position]
        running = [self._tasks[s] for s in self._busy.values() if s in self._tasks]
        ahead = sum(t.price.flops for t in order) + sum(
            t.price.flops * max(0.0, 1 - t.epochs_done / max(1, t.config.epochs)) for t in running)
        return ahead * (self._seconds_per_flop or 1 / DEFAULT_FLOPS_PER_SECOND) / self.slots

    def _assign(self) -> None:
        """Give free workers to waiting tasks, fairly."""
        free = [w for w in range(self.slots) if w not in self._busy and self._pool.ready(w)]
        if not free:
            return
        for task in self._fair_order():
            if not free:
                return
            owner = self._jobs[task.job].owner
            if self._running_of(owner) >= self.owner_slots:
                continue
            worker = free.pop(0)
            job = self._jobs[task.job]
            task.status, task.worker, task.started = "running", worker, time.monotonic()
            self._busy[worker] = task.serial
            self._served[owner] = time.monotonic()
            self._pool.start(worker, {"serial": task.serial, "config": task.config.to_dict(),
                                      "variants": {n: vars(p) for n, p in job.variants.items()},
                                      "extras": list(job.extras),
                                      "every_seconds": self.every_seconds})

    def _handle(self, worker: int, event: dict[str, Any]) -> None:
        task = self._tasks.get(event.get("serial"))
        kind = event["kind"]
        if kind == "idle":
            if self._busy.get(worker) == event.get("serial"):
                del self._busy[worker]
            if task is not None and task.status in ("running", "stopping"):
                self._end(task, "stopped" if task.status == "stopping" else "finished")
            return
        if task is None:
            return
        if kind == "started":
            task.history = RunHistory(task.config, event["counts"], event["groups"], event["class_names"],
                                      threads=event["threads"],
                                      variants={n: vars(p) for n, p in self._jobs[task.job].variants.items()})
        elif kind == "step":
            task.steps.append(StepEvent(**event["step"]))
            del task.steps[:-MAX_STEPS_KEPT]
        elif kind == "epoch" and task.history is not None:
            task.history.records.append(EpochRecord(**event["record"]))
            if "grid" in event:
                task.grids.append(event["grid"])
            if "points" in event:
                task.points.append(event["points"])
        elif kind == "replay":
            task.replay = {"labels": event["labels"], "epochs": event["epochs"], "points": event["points"]}
        elif kind == "probabilities":
            task.probabilities = {"probabilities": event["probabilities"], "labels": event["labels"]}
        elif kind == "end":
            if event.get("stopped") and task.history is not None and not task.history.stopped:
                task.history.stopped = f"{task.stop_reason or 'stopped'} after {task.epochs_done} epochs"
        elif kind == "error":
            task.error = event["message"]
            if task.history is not None:
                task.history.stopped = event["message"]
            self._end(task, "failed")

    def _end(self, task: Task, status: str) -> None:
        if task.status in ("finished", "stopped", "failed"):
            return
        task.status, task.ended = status, time.monotonic()
        if task.started is not None and status == "finished" and task.price.flops:
            measured = (task.ended - task.started) / task.price.flops
            self._seconds_per_flop = measured if self._seconds_per_flop is None else (
                0.8 * self._seconds_per_flop + 0.2 * measured)
        job = self._jobs.get(task.job)
        if job is not None and task.history is not None and task.history.records:
            last = task.history.last
            self._finished.append({"owner": job.owner, "tag": job.tag, "label": task.label, "seed": task.seed,
                                   "status": status, "epochs": last.epoch, "balanced_acc": last.balanced_acc,
                                   "tail_test_acc": last.group_test_acc.get(task.history.tail),
                                   "tail": task.history.tail, "ended": time.time()})
            del self._finished[:-5000]

    def _check_owners(self, now: float) -> None:
        for job in list(self._jobs.values()):
            if job.status not in ("queued", "running"):
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
            task = self._tasks.get(serial)
            del self._busy[worker]
            self._pool.restart(worker)
            if task is not None:
                task.error = DEAD_WORKER.format(epochs=task.epochs_done)
                if task.history is not None:
                    task.history.stopped = task.error
                self._end(task, "failed" if task.status == "running" else "stopped")

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


# ---------------------------------------------------------------- backends


class _LocalPool:
    """Worker processes on this machine (spawned: a fresh interpreter, no inherited threads or locks)."""

    def __init__(self, workers: int):
        self._context = multiprocessing.get_context("spawn")
        self._outbox = self._context.Queue()
        self._workers: list[dict[str, Any]] = [self._spawn(i) for i in range(workers)]

    def _spawn(self, index: int) -> dict[str, Any]:
        inbox, stop = self._context.Queue(), self._context.Value("q", -1)
        process = self._context.Process(target=process_main, args=(inbox, self._outbox, stop, index),
                                        name=f"procrustes-worker-{index}", daemon=True)
        with bare_main():
            process.start()
        return {"inbox": inbox, "stop": stop, "process": process}

    def ready(self, worker: int) -> bool:
        return self._workers[worker]["process"].is_alive()

    def start(self, worker: int, task: dict[str, Any]) -> None:
        self._workers[worker]["stop"].value = -1
        self._workers[worker]["inbox"].put(task)

    def stop(self, worker: int | None, serial: int) -> None:
        if worker is not None:
            self._workers[worker]["stop"].value = serial

    def alive(self, worker: int) -> bool:
        return self._workers[worker]["process"].is_alive()

    def pid(self, worker: int) -> int | None:
        return self._workers[worker]["process"].pid

    def restart(self, worker: int) -> None:
        self._workers[worker]["process"].join(timeout=1)
        self._workers[worker] = self._spawn(worker)

    def collect(self, timeout: float) -> list[tuple[int, dict[str, Any]]]:
        import queue

        found = []
        try:
            found.append(self._outbox.get(timeout=timeout))
            while len(found) < 1000:
                found.append(self._outbox.get_nowait())
        except queue.Empty:
            pass
        except (EOFError, OSError):  # the queue's pipe broke with a killed worker: the next check restarts it
            pass
        return found

    def close(self) -> None:
        for worker in self._workers:
            try:
                worker["inbox"].put(None)
            except (OSError, ValueError):
                pass
        for worker in self._workers:
            worker["process"].join(timeout=3)
            if worker["process"].is_alive():
                worker["process"].kill()


def _check_reachable(address: str | None, timeout: float = 3.0) -> None:
    """A ``host:port`` (or ``ray://host:port``) cluster address that accepts no connection is one line at
    once; Ray itself would wait minutes for it."""
    import re
    import socket

    found = re.fullmatch(r"(?:ray://)?\[?([^\]/]+?)\]?:(\d+)", (address or "").strip())
    if not found:
        return  # no address (a local Ray instance) or "auto": Ray finds it
    try:
        socket.create_connection((found[1], int(found[2])), timeout=timeout).close()
    except OSError as err:
        raise ProcrustesError(f"backend='ray': no Ray cluster answers at {address!r} "
                              f"({err.strerror or type(err).__name__}); start one with `ray start --head` "
                              "or unset RAY_ADDRESS") from None


class _RayPool:
    """One Ray actor per slot, anywhere on the cluster; events are drained from each busy actor."""

    def __init__(self, workers: int, address: str | None):
        try:
            import ray
        except ImportError:
            raise ProcrustesError("backend='ray': Ray is not installed; pip install 'procrustes[cluster]'") from None
        self._ray = ray
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS") or None
            _check_reachable(address)
            package = str(Path(__file__).resolve().parents[1])  # procrustes_core, shipped to every node
            try:
                ray.init(address=address, log_to_driver=False,
                         runtime_env={"py_modules": [package]}, include_dashboard=False)
            except Exception as err:  # noqa: BLE001 - Ray raises plain exceptions when it cannot connect
                first = str(err).splitlines()[0] if str(err) else type(err).__name__
                raise ProcrustesError(f"backend='ray': cannot join the Ray cluster at {address!r} ({first})") from None
        self._actor_class = ray.remote(num_cpus=1, max_concurrency=3)(_RayWorker)
        self._actors = [self._actor_class.remote() for _ in range(workers)]
        self._runs: dict[int, Any] = {}
        self._pending: dict[int, Any] = {}  # each busy actor's outstanding drain call
        self._dead: set[int] = set()

    def ready(self, worker: int) -> bool:
        return worker not in self._dead

    def start(self, worker: int, task: dict[str, Any]) -> None:
        self._runs[worker] = self._actors[worker].run.remote(task)

    def stop(self, worker: int | None, serial: int) -> None:
        if worker is not None:
            self._actors[worker].stop.remote(serial)

    def alive(self, worker: int) -> bool:
        return worker not in self._dead

    def restart(self, worker: int) -> None:
        self._actors[worker] = self._actor_class.remote()
        self._dead.discard(worker)
        self._runs.pop(worker, None)
        self._pending.pop(worker, None)

    def collect(self, timeout: float) -> list[tuple[int, dict[str, Any]]]:
        """Events of the busy actors: one ``drain`` call outstanding per actor, harvested when it returns.
        A slow actor (starting up, its node busy) is waited for; only Ray's word that it died ends it."""
        ray = self._ray
        found = []
        busy = list(self._runs)
        if not busy:
            time.sleep(timeout)
            return found
        for worker in busy:
            if worker not in self._pending:
                self._pending[worker] = self._actors[worker].drain.remote()
        waiting = {self._pending[w]: w for w in busy}
        ready, _ = ray.wait(list(waiting), num_returns=len(waiting), timeout=timeout)
        for ref in ready:
            worker = waiting[ref]
            del self._pending[worker]
            try:
                events = ray.get(ref)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.ActorDiedError):
                self._dead.add(worker)
                self._runs.pop(worker, None)
                continue
            found += [(worker, e) for e in events]
            if any(e["kind"] == "idle" for e in events):
                self._runs.pop(worker, None)
        if not found and len(ready) == len(waiting):
            time.sleep(timeout)  # every drain came back empty: wait before asking again
        return found

    def close(self) -> None:
        for actor in self._actors:
            try:
                self._ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                pass


class _RayWorker:
    """A Ray actor training one task at a time; ``drain`` and ``stop`` run beside ``run`` (threads)."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop_serial = -1

    def _emit(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._events.append(event)

    def run(self, task: dict[str, Any]) -> None:
        self._stop_serial = -1
        run_task(task, self._emit, lambda: self._stop_serial == task["serial"])
        self._emit({"kind": "idle", "serial": task["serial"]})

    def stop(self, serial: int) -> None:
        self._stop_serial = serial

    def drain(self) -> list[dict[str, Any]]:
        with self._lock:
            found, self._events = self._events, []
        return found
