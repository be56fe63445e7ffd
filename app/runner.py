"""A page's trainings on the server's training service, and this browser's finished runs.

A page starts a job (one or more runs, each on one or more seeds), then draws ``view(kind)`` — the
service's live record of it — in a fragment that refreshes a few times a second. Stopping asks the
service to stop; the slot is free once the worker says so. Finished runs are kept in the run store
(``store.py``) so they are listed on the Compare page after a reload too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import streamlit as st

from procrustes_core import ProcrustesError, RunHistory, TrainConfig
from procrustes_core.methods.posthoc import PostHoc
from procrustes_core.training.jobs import JobView, TaskView

from . import state, store, your_data
from .limits import Limits, server_settings
from .service import owner, service


def _jobs() -> dict[str, str]:
    return st.session_state.setdefault("jobs", {})


def start(kind: str, runs: Sequence[tuple[str, TrainConfig]], limits: Limits, seeds: Sequence[int] | None = None,
          variants: dict[str, PostHoc] | None = None, extras: Sequence[str] = ()) -> str | None:
    """Submit a page's job (this session's previous job is replaced); one line saying why not, or None."""
    try:
        configs = [(label, server_settings(config, limits)) for label, config in runs]
        job = service(limits).submit(owner(), configs, seeds=seeds, variants=variants, kind=kind,
                                     tag=state.current().preset or "", extras=extras)
    except ProcrustesError as err:
        return your_data.learner_text(str(err))  # an upload named by its name, never the server's path
    _jobs()[kind] = job
    return None


def _adopt(kind: str, limits: Limits) -> str | None:
    """This browser's latest job of a page, once per session and page: a reload (a new session of the same
    browser) returns to the training it started, running or finished, instead of losing it."""
    looked = st.session_state.setdefault("_adopted", set())
    if kind in looked:
        return None
    looked.add(kind)
    mine = owner()
    try:
        found = [v.job.id for v in service(limits).jobs() if v.job.owner == mine and v.job.kind == kind]
    except ProcrustesError:  # no training service (said on the page in one line): nothing to return to
        return None
    if found:
        _jobs()[kind] = found[-1]  # the service holds jobs in the order they came: the last is the latest
        return found[-1]
    return None


def view(kind: str, limits: Limits) -> JobView | None:
    """The service's record of the page's job now (this browser's latest, after a reload), or None."""
    job = _jobs().get(kind) or _adopt(kind, limits)
    if job is None:
        return None
    try:
        found = your_data.learner_view(service(limits).view(job))  # uploads named by name, not server path
    except ProcrustesError:  # the server restarted: the job is gone
        _jobs().pop(kind, None)
        return None
    if not found.training:
        keep(found, limits)
    return found


def live_jobs(limits: Limits) -> int:
    """Jobs queued or training on this server, every session's."""
    return service(limits).live_jobs()


def stop(kind: str, limits: Limits) -> None:
    job = _jobs().get(kind)
    if job is not None:
        try:
            service(limits).stop(job)
        except ProcrustesError:
            _jobs().pop(kind, None)


def reset(kind: str, limits: Limits) -> None:
    job = _jobs().pop(kind, None)
    if job is not None:
        try:
            service(limits).forget(job)
        except ProcrustesError:
            pass


def task_label(task: TaskView) -> str:
    return f"{task.label} · seed {task.seed}"


@st.cache_resource(show_spinner=False)
def _kept_jobs() -> dict[str, None]:
    """The jobs whose runs are in the store already, for the whole server: a reload that returns to a
    finished job must not keep its runs twice (an ordered set, bounded)."""
    return {}


def keep(found: JobView, limits: Limits) -> None:
    """Put a finished job's runs (and their post-hoc variants) in this browser's run store, once."""
    kept = _kept_jobs()
    if found.job.id in kept:
        return
    kept[found.job.id] = None
    while len(kept) > 10_000:
        del kept[next(iter(kept))]
    for task in found.job.tasks:
        if task.history is None or not task.history.records:
            continue
        history = task.history
        if task.error and not history.stopped:  # a diverged run keeps saying why it ended, wherever it is shown
            history = replace(history, stopped=task.error)
        store.save(limits.store_folder, task_label(task), history)
        for name in history.variants:
            variant = history.variant(name)
            store.save(limits.store_folder, f"{run_label(variant.config)} · seed {task.seed}", variant)
    store.tidy(limits.store_folder, keep=store.browser_id(), **store.caps(limits))  # once per job: it scans the store


def session_runs(limits: Limits) -> list[tuple[str, RunHistory]]:
    """This browser's finished runs, oldest first (kept across reloads)."""
    return store.load(limits.store_folder)


def run_label(config: TrainConfig) -> str:
    """A short name of a run's method for legends: MFW and its strength, the zoo's choices, + LA."""
    method = f"MFW {config.mfw_strength:g}" if config.mixer == "mfw" else "ERM"
    for name in ("loss", "sampler", "mixer"):
        value = getattr(config, name)
        if value not in ("ce", "none", "instance", "mfw"):
            method += f" {value}"
    if config.la_tau:
        method += f" + LA {config.la_tau:g}"
    if config.tau_norm:
        method += f" + τ-norm {config.tau_norm:g}"
    return method


def describe(config: TrainConfig) -> str:
    """The data side of a run, for captions: dataset, imbalance, network."""
    imbalance = "custom counts" if config.profile == "custom" else f"{config.profile}-{config.ratio:g}"
    return f"{config.dataset} {imbalance}, {config.model} ({config.norm} norm), width {config.width}"
