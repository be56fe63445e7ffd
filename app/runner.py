"""Training inside a browser session: jobs of one or more runs, trained a chunk at a time.

Each script run trains the active job for about ``CHUNK_SECONDS`` (whole epochs only), redrawing
the page's live charts after each epoch, then asks Streamlit to run the script again. Between
epochs a click on Stop (or any widget) interrupts the script; the Trainer lives in the session, so
what was trained is kept and the next run continues or stops it. One job trains per session.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st
import torch

from procrustes_core import ProcrustesError, RunHistory, TrainConfig, Trainer, TrainingDiverged
from procrustes_core.analysis.boundary import BoundaryGrid, decision_grid
from procrustes_core.methods.posthoc import PostHoc

from .limits import SLOTS, Limits, check_run, server_settings, set_threads

CHUNK_SECONDS = 5.0  # training per script run; longer means fewer page rebuilds (Stop still acts at once)
REFRESH_SECONDS = 0.45  # at most this often are the live charts redrawn (about 2 per second)
MAX_SESSION_RUNS = 30  # finished runs a session keeps for the Compare page
log = logging.getLogger("procrustes.app")


_warm_up_lock = threading.Lock()
_warm_up_started = False


def warm_up() -> None:
    """Once per server, in the background: build an optimiser, whose first use imports torch's
    compiler stack (about 2 s), so that a learner's first Train draws its first epoch sooner."""
    global _warm_up_started
    with _warm_up_lock:
        if _warm_up_started:
            return
        _warm_up_started = True

    def work() -> None:
        parameters = torch.nn.Linear(2, 2).parameters()
        torch.optim.SGD(parameters, lr=0.1)

    threading.Thread(target=work, name="procrustes-warm-up", daemon=True).start()


@dataclass
class Run:
    """One training run of a job."""

    label: str
    config: TrainConfig
    variants: dict[str, PostHoc] = field(default_factory=dict)  # post-hoc settings scored on the same model
    trainer: Trainer | None = None
    error: str | None = None
    grids: list[BoundaryGrid] = field(default_factory=list)  # decision regions per epoch (2-D data)
    done: bool = False

    @property
    def history(self) -> RunHistory | None:
        return self.trainer.history if self.trainer is not None else None

    @property
    def epoch(self) -> int:
        return self.trainer.epoch if self.trainer is not None else 0


@dataclass
class Job:
    """Runs started by one button: trained one after another or side by side (round robin)."""

    kind: str  # the page that started it: playground, compare, sweep, boundary
    runs: list[Run]
    sequential: bool = False
    boundaries: bool = False  # keep a decision-region grid after every epoch
    state: str = "training"  # training | finished | stopped
    started: float = field(default_factory=time.perf_counter)
    first_epoch_seconds: float | None = None  # from the press of the button to the first epoch drawn
    turn: int = 0

    @property
    def training(self) -> bool:
        return self.state == "training"

    @property
    def epochs_done(self) -> int:
        return sum(r.epoch for r in self.runs)

    @property
    def epochs_total(self) -> int:
        return sum(r.config.epochs for r in self.runs)

    def next_run(self) -> Run | None:
        waiting = [r for r in self.runs if not r.done]
        if not waiting:
            return None
        if self.sequential:
            return waiting[0]
        self.turn += 1
        return waiting[self.turn % len(waiting)]


def session_id() -> str:
    if "session_id" not in st.session_state:
        st.session_state.session_id = uuid.uuid4().hex
    return st.session_state.session_id


def jobs() -> dict[str, Job]:
    return st.session_state.setdefault("jobs", {})


def job(kind: str) -> Job | None:
    return jobs().get(kind)


def active_job() -> Job | None:
    return next((j for j in jobs().values() if j.training), None)


def session_runs() -> list[tuple[str, RunHistory]]:
    """Finished or stopped runs of this session, newest last (for the Compare page)."""
    return st.session_state.setdefault("session_runs", [])


def _keep(run: Run) -> None:
    """List a finished or stopped run (and each of its post-hoc variants) for the Compare page."""
    history = run.history
    if history is None or not history.records:
        return
    runs = session_runs()
    if any(h is history for _, h in runs):
        return
    number = len(runs) + 1
    runs.append((f"#{number} {run.label}", history))
    for name in history.variants:
        runs.append((f"#{number} {run_label(history.variant(name).config)}", history.variant(name)))
    del runs[:-MAX_SESSION_RUNS]


def start(kind: str, runs: list[tuple[str, TrainConfig]], limits: Limits, sequential: bool = False,
          boundaries: bool = False, variants: dict[str, PostHoc] | None = None) -> str | None:
    """Start a job; returns one line saying why not, or None. A job already training is stopped.
    ``variants``: post-hoc settings every run of the job is also scored under."""
    try:
        configs = [(label, server_settings(config, limits)) for label, config in runs]
        for _, config in configs:
            check_run(config, limits)
    except ProcrustesError as err:
        return str(err)
    current = active_job()
    if not SLOTS.acquire(session_id(), limits.max_trainings):
        return (f"The server is already running its {limits.max_trainings} trainings at once "
                "(PROCRUSTES_MAX_TRAININGS); try again in a minute.")
    if current is not None:
        stop(current.kind, "stopped when another training started")
    jobs()[kind] = Job(kind, [Run(label, config, dict(variants or {})) for label, config in configs], sequential,
                       boundaries)
    return None


def stop(kind: str, reason: str | None = None) -> None:
    """Stop a job, keeping every epoch trained so far."""
    found = job(kind)
    if found is None or not found.training:
        return
    found.state = "stopped"
    for run in found.runs:
        if not run.done and run.trainer is not None:
            run.trainer.stop(reason or f"stopped by the learner after {run.epoch} epochs")
        run.done = True
        _keep(run)
    SLOTS.release(session_id())


def reset(kind: str) -> None:
    """Stop a job and forget it (finished runs stay listed on the Compare page)."""
    stop(kind)
    jobs().pop(kind, None)


def _finish(current: Job) -> None:
    current.state = "finished"
    for run in current.runs:
        _keep(run)
    SLOTS.release(session_id())


def _train_one_epoch(current: Job, run: Run, limits: Limits) -> None:
    try:
        if run.trainer is None:
            run.trainer = Trainer(run.config, variants=run.variants)
            set_threads(limits)  # the Trainer set its own count; the server's share wins
        run.trainer.train_epoch()
        if current.boundaries:
            run.grids.append(decision_grid(run.trainer, resolution=60))
    except TrainingDiverged as err:
        run.error = str(err)
    except ProcrustesError as err:
        run.error = str(err)
    except Exception as err:  # a bug must not reach the page as a traceback
        log.exception("training failed")
        run.error = f"training failed: {type(err).__name__}: {err}"
    if run.error is not None or run.epoch >= run.config.epochs:
        run.done = True


def advance(limits: Limits, redraw: Callable[[Job], None] | None = None) -> bool:
    """Train the active job for about a chunk; True when the script should run again (to go on
    training, or to draw the finished job's results)."""
    current = active_job()
    if current is None:
        return False
    set_threads(limits)
    SLOTS.touch(session_id())
    chunk = float(st.session_state.get("chunk_seconds", CHUNK_SECONDS))  # tests may shorten it
    began = last_draw = time.perf_counter()
    stale = False  # epochs trained since the charts were last drawn
    while time.perf_counter() - began < chunk:
        run = current.next_run()
        if run is None:
            break
        _train_one_epoch(current, run, limits)
        stale = True
        if all(r.done for r in current.runs):
            _finish(current)
        now = time.perf_counter()
        if current.first_epoch_seconds is None:
            current.first_epoch_seconds = now - current.started
        if redraw is not None and (now - last_draw >= REFRESH_SECONDS or not current.training
                                   or current.epochs_done == 1):
            redraw(current)
            last_draw, stale = now, False
        if not current.training:
            return True
    if redraw is not None and stale:
        redraw(current)
    return True


def register_view(kind: str, redraw: Callable[[Job], None]) -> None:
    """A page's function that redraws its live charts for a job of ``kind`` (this script run only)."""
    st.session_state.setdefault("_views", {})[kind] = redraw


def view_for(kind: str) -> Callable[[Job], None] | None:
    return st.session_state.get("_views", {}).get(kind)


def run_label(config: TrainConfig) -> str:
    """A short name of a run for legends: method, imbalance and seed."""
    method = f"MFW {config.mfw_strength:g}" if config.mixer == "mfw" else "ERM"
    for name in ("loss", "sampler", "mixer"):
        value = getattr(config, name)
        if value not in ("ce", "none", "instance", "mfw"):
            method += f" {value}"
    if config.la_tau:
        method += f" + LA {config.la_tau:g}"
    return f"{method} · {config.dataset} {config.profile} {config.ratio:g} · seed {config.seed}"
