"""A training service's jobs: the records it keeps (``Task``, ``Job``, mutable, the service's own) and the
read-only views it hands to pages (``TaskView``, ``JobState``, ``JobView``: frozen snapshots whose lists
stop growing), with the ``Status`` a task or job is in."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from ..analysis.history import RunHistory
from ..config import TrainConfig
from ..methods.posthoc import PostHoc
from .budget import Price
from .events import StepEvent
from .executor import Outcome


class Status(str, Enum):
    """Where a task (or a job, from its tasks) stands; compares equal to its value ("running" ...)."""

    QUEUED = "queued"
    RUNNING = "running"
    STOPPING = "stopping"  # asked to stop; its worker has not said it is idle yet
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

    @property
    def active(self) -> bool:
        return self in (Status.QUEUED, Status.RUNNING, Status.STOPPING)

    @property
    def computing(self) -> bool:
        return self in (Status.RUNNING, Status.STOPPING)


ENDED = (Status.FINISHED, Status.STOPPED, Status.FAILED)


@dataclass
class Task:
    """One training of a job: a run's config on one seed, and what has come back of it. The seeds of a run
    that stack train in one request (one slot): their tasks share its serial as ``bundle``."""

    serial: int
    job: str
    run: int  # which run of the job (several seeds share it)
    label: str
    config: TrainConfig
    price: Price
    outcome: Outcome
    status: Status = Status.QUEUED
    stop_reason: str | None = None  # why it was asked to stop (the learner, a new job, the learner left)
    worker: int | None = None
    started: float | None = None
    ended: float | None = None
    bundle: int = 0  # the serial of the request it trains in (its own, or the first of its stacked seeds')

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def history(self) -> RunHistory | None:
        return self.outcome.history

    @property
    def epochs_done(self) -> int:
        return self.outcome.epochs_done


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
    extras: tuple[str, ...] = ()  # observers the workers attach: "boundary", "features", "probabilities"

    @property
    def status(self) -> Status:
        return job_status([t.status for t in self.tasks], any(t.started for t in self.tasks))


def job_status(states: list[Status], started: bool) -> Status:
    """A job's status from its tasks': running while any computes (or some started and others wait)."""
    found = set(states)
    if found & {Status.RUNNING, Status.STOPPING}:
        return Status.RUNNING
    if Status.QUEUED in found:
        return Status.RUNNING if started else Status.QUEUED
    if found <= {Status.FAILED}:
        return Status.FAILED
    return Status.STOPPED if Status.STOPPED in found else (Status.FAILED if Status.FAILED in found
                                                           else Status.FINISHED)


@dataclass(frozen=True)
class TaskView:
    """A task as it was when viewed: its status, history (a copy), latest steps and what its observers sent."""

    serial: int
    job: str  # the job's id
    run: int
    label: str
    config: TrainConfig
    status: Status
    history: RunHistory | None
    steps: tuple[StepEvent, ...]
    grids: tuple[dict, ...]  # "boundary": the decision regions after each epoch
    points: tuple[list, ...]  # "features": the live 2-D feature view after each epoch
    replay: dict | None  # "features": every epoch on one fixed projection (at the end)
    probabilities: dict | None  # "probabilities": the test split's predictions and labels (at the end)
    error: str | None
    stop_reason: str | None
    worker: int | None
    started: float | None
    ended: float | None

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def active(self) -> bool:
        return self.status.active

    @property
    def epochs_done(self) -> int:
        return self.history.records[-1].epoch if self.history is not None and self.history.records else 0


@dataclass(frozen=True)
class JobState:
    """A job as it was when viewed."""

    id: str
    owner: str
    kind: str
    labels: tuple[str, ...]
    tasks: tuple[TaskView, ...]
    tag: str = ""
    status: Status = Status.QUEUED
    extras: tuple[str, ...] = field(default=())

    def runs(self) -> list[list[TaskView]]:
        """The job's tasks grouped by run: ``runs()[r]`` holds run ``r`` on each of its seeds."""
        grouped: dict[int, list[TaskView]] = {}
        for task in self.tasks:
            grouped.setdefault(task.run, []).append(task)
        return [grouped[r] for r in sorted(grouped)]


@dataclass(frozen=True)
class JobView:
    """What a front needs to draw a job: its state now (``view`` again for newer events) and its wait."""

    job: JobState
    position: int | None  # tasks to start before this job's next one (None: nothing of it waits)
    wait_seconds: float | None

    @property
    def status(self) -> Status:
        return self.job.status

    @property
    def training(self) -> bool:
        return self.job.status in (Status.QUEUED, Status.RUNNING)


def task_view(task: Task) -> TaskView:
    """The task now, with lists that stop growing: a page reads the copy while the service thread appends
    to the original (a page that read a history's records twice could see two lengths)."""
    outcome, history = task.outcome, task.outcome.history
    if history is not None:
        history = replace(history, records=list(history.records), warnings=list(history.warnings))
    return TaskView(task.serial, task.job, task.run, task.label, task.config, task.status, history,
                    tuple(outcome.steps), tuple(outcome.observed.get("boundary", ())),
                    tuple(outcome.observed.get("features", ())),
                    outcome.results.get("features"), outcome.results.get("probabilities"), outcome.error,
                    task.stop_reason, task.worker, task.started, task.ended)


def job_state(job: Job) -> JobState:
    return JobState(job.id, job.owner, job.kind, tuple(job.labels), tuple(task_view(t) for t in job.tasks), job.tag,
                    job.status, job.extras)


def summary(job: Job, task: Task) -> dict[str, Any]:
    """One finished or stopped training in a line of a teacher's table."""
    history = task.history
    last = history.last
    return {"owner": job.owner, "tag": job.tag, "label": task.label, "seed": task.seed, "status": str(task.status),
            "epochs": last.epoch, "balanced_acc": last.balanced_acc,
            "tail_test_acc": last.group_test_acc.get(history.tail), "tail": history.tail}
