"""A job on the page while it trains: its status (queued, training, stopped), its curves — per class for
one seed, per group with a band for several —, the narrator's sentences, and the buttons.

Everything here is drawn inside a fragment that refreshes a few times a second (``live_fragment``).
Its charts are live charts (``charts.live_charts``): each is updated in place, and only when its figure
changed, so a chart never goes blank. The four curves change once per epoch (its evaluation pass), the
in-epoch chart at every step event.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from procrustes_core.analysis.history import RunHistory
from procrustes_core.analysis.narrator import Statement, group_names, narrate
from procrustes_core.analysis.seeds import mean_history
from procrustes_core.figures.runs import class_curves, epoch_marks, epoch_progress, loss_curve, seed_band_curves
from procrustes_core.training.jobs import JobView, Status, TaskView

from .. import runner
from .charts import figure_json, live_charts

REFRESH_SECONDS = 0.2  # a few learners: five refreshes a second
FULL_RATE_JOBS = 4  # live jobs on the server up to which every page refreshes at that rate
SLOWEST_REFRESH_SECONDS = 2.0
QUEUED_REFRESH_SECONDS = 1.0  # a queued page draws only its position


def refresh_seconds(view: JobView | None, live_jobs: int) -> float:
    """How often a page following ``view`` redraws: five times a second while few jobs are live, less
    often as more share the server (its page scripts run on one core, which the trainings also need),
    once a second while queued."""
    seconds = REFRESH_SECONDS * max(1.0, live_jobs / FULL_RATE_JOBS)
    if view is not None and view.status == Status.QUEUED:
        seconds = max(seconds, QUEUED_REFRESH_SECONDS)
    return min(seconds, SLOWEST_REFRESH_SECONDS)
CURVES = ("train_acc", "test_acc", "grad_norm", "loss")
CURVE_HEIGHT = 335
PROJECTOR_CURVE_HEIGHT = 330  # two rows of charts and the page's head within 900 pixels


def live_fragment(kind: str, draw: Callable[[JobView | None], None]) -> None:
    """Draw a page's job, again every ``REFRESH_SECONDS`` while it trains; a full page run follows the end.

    ``draw`` writes only inside the fragment's own area: elements a fragment writes into containers made
    outside it are redrawn in a way that leaves a chart blank for a moment."""
    limits = st.session_state.limits
    first = runner.view(kind, limits)
    was = f"_{kind}_was_training"
    st.session_state[was] = first is not None and first.training
    every = refresh_seconds(first, runner.live_jobs(limits)) if st.session_state[was] else None
    first_status = first.status if first is not None else None

    @st.fragment(run_every=every)
    def fragment() -> None:
        current = runner.view(kind, limits)
        if first_status == Status.QUEUED and current is not None and current.status != Status.QUEUED:
            # its slot came: the whole page again, to refresh at the training rate — before any chart is
            # drawn here, so that no chart is drawn by a run the page then replaces
            st.rerun()
        draw(current)
        if st.session_state.get(was) and (current is None or not current.training):
            st.session_state[was] = False
            st.rerun()  # the whole page: final results, buttons back on

    fragment()


def buttons(kind: str, label: str, on_start: Callable[[], None], can_start: bool, keys: tuple[str, str, str],
            widths=(2, 1, 1), columns=None) -> JobView | None:
    """Train / Stop / Reset for a page's job (in three new columns, or the ones given), and the job's
    last problem in one line."""
    limits = st.session_state.limits
    view = runner.view(kind, limits)
    training = view is not None and view.training
    cols = columns or st.columns(list(widths))
    cols[0].button(label, type="primary", key=keys[0], on_click=on_start, disabled=not can_start or training,
                   width="stretch")
    cols[1].button("Stop", key=keys[1], disabled=not training, on_click=runner.stop, args=(kind, limits),
                   width="stretch")
    cols[2].button("Reset", key=keys[2], disabled=view is None or training, on_click=runner.reset,
                   args=(kind, limits), width="stretch")
    problem, box = st.session_state.get(f"{kind}_problem"), st.container()  # the box keeps the live block's place
    if problem:
        box.error(problem)
    return view


def status_line(view: JobView) -> str:
    """Where the job stands, in one line."""
    tasks = view.job.tasks
    if view.status == Status.QUEUED:
        wait = "" if view.wait_seconds is None else f", about {max(1, round(view.wait_seconds)):.0f} s"
        return f"Queued: position {view.position + 1}{wait}. The charts start when a training slot frees."
    done = sum(t.epochs_done for t in tasks)
    total = sum(t.config.epochs for t in tasks)
    running = sum(t.status.computing for t in tasks)
    waiting = sum(t.status == Status.QUEUED for t in tasks)
    seeds = f"{len(tasks)} trainings" if len(tasks) > 1 else "1 training"
    if view.training:
        extra = f", {waiting} waiting for a slot" if waiting else ""
        return f"Training {seeds} ({running} running{extra}): epoch {done} of {total} in all."
    ended = {Status.FINISHED: "Finished", Status.STOPPED: "Stopped", Status.FAILED: "Ended with an error"}[view.status]
    return f"{ended}: {seeds}, {done} of {total} epochs."


def run_tasks(view: JobView, run: int = 0) -> list[TaskView]:
    """The tasks of one run of the job (one per seed) that have started."""
    groups = view.job.runs()
    return [t for t in groups[run] if t.history is not None] if run < len(groups) else []


def statements_for(tasks: list[TaskView], finished: bool) -> list[Statement]:
    histories = [t.history for t in tasks if t.history is not None and t.history.records]
    if not histories:
        return []
    # what did not happen is stated only of runs that all reached their last epoch
    complete = finished and all(h.finished for h in histories)
    return narrate(mean_history(histories), finished=complete, seeds=len(histories))


def cached_spec(key: str, shown, build) -> str:
    """A chart's figure as JSON text, built again only when what it shows changed (building one costs
    milliseconds to tens of them, several times a second, on the cores the trainings use)."""
    cache = st.session_state.setdefault("_live_figures", {})
    cached = cache.get(key)
    if cached is None or cached[0] != shown:
        cached = cache[key] = (shown, figure_json(build()))
    return cached[1]


def draw_curves(tasks: list[TaskView], key: str, statements: list[Statement], large: bool = False) -> None:
    """The run's four curves, 2 × 2: per class for one seed, per group for several (each seed thin, the
    mean bold); the narrator's epochs marked with their numbers; ``large``: for a projector. They change
    once per epoch (its evaluation pass)."""
    histories = [t.history for t in tasks if t.history is not None]
    if not histories or not any(h.records for h in histories):
        live_charts(f"{key}-curves", [], columns=2)  # in place already: its first figures draw at once
        return
    marks = [s for s in statements if s.epoch > 0]
    numbers = [str(i + 1) for i in range(len(marks))]
    ready = [h for h in histories if h.records]
    shown = (tuple((t.job, t.serial) for t in tasks), len(histories), tuple(len(h.records) for h in histories),
             tuple(s.epoch for s in marks), large)
    drawn = epoch_marks([s.epoch for s in marks], numbers, span=histories[0].config.epochs)
    live_charts(f"{key}-curves", [(metric, cached_spec(f"{key}-{metric}", shown,
                                                 lambda metric=metric: _curve(histories, ready, metric, drawn, large)))
                                  for metric in CURVES], columns=2)


def draw_progress(tasks: list[TaskView], key: str) -> None:
    """The epoch in progress (several times a second, from the step events): running training accuracy
    per class on its mini-batches and the running loss; with several seeds, of the training furthest on."""
    stepped = [t for t in tasks if t.steps and t.history is not None]
    if not stepped:
        live_charts(f"{key}-progress", [])
        return
    running = [t for t in stepped if t.status.computing]
    task = max(running or stepped, key=lambda t: (t.steps[-1].epoch, t.steps[-1].progress))
    step = task.steps[-1]
    finished = not task.status.computing
    label = f"seed {task.seed}" if len(tasks) > 1 else ""
    spec = cached_spec(f"{key}-progress", ((task.job, task.serial), step.epoch, step.batch, finished),
                 lambda: epoch_progress(task.history, step, finished=finished, label=label))
    live_charts(f"{key}-progress", [("progress", spec)])


def _curve(histories, ready, metric: str, marks, large: bool = False):
    """One of the four curves: per class for one seed, per group for several (each seed thin, the mean
    bold); lines only (markers double the browser's work on every redraw); ``large`` type for a projector."""
    style = dict(marks=marks, height=PROJECTOR_CURVE_HEIGHT if large else CURVE_HEIGHT, markers=False)
    if len(histories) == 1:
        fig = loss_curve(histories[0], **style) if metric == "loss" else class_curves(histories[0], metric, **style)
    elif metric == "loss":
        fig = loss_curve(mean_history(ready), title=f"Training loss — mean of {len(ready)} seeds", **style)
    else:
        fig = seed_band_curves(ready, metric, **style)
    name_classes(fig, histories[0])
    if large:
        fig.layout.font = {"size": 15}
        fig.layout.title.font = {"size": 19}
    return fig


def name_classes(fig, history: RunHistory) -> None:
    """Name each group's classes in the legend when they are few, as the narrator does: "minor classes
    (fraud) (n=16 each)", "minor (5–9): mean of 8 ..."."""
    for trace in fig.data:
        group = trace.legendgroup
        names = group_names(history, group) if group in history.groups else ""
        if not names or not trace.name:
            continue
        if trace.name.startswith(f"{group} classes"):
            trace.name = trace.name.replace(f"{group} classes", f"{group} classes ({names})", 1)
        elif trace.name.startswith(f"{group}:"):
            trace.name = f"{group} ({names}):" + trace.name[len(group) + 1:]


def la_note(histories: list[RunHistory]) -> str | None:
    """Why the minor classes' test accuracy can sit above their training accuracy, when it does at the
    last epoch (the mean over seeds): the two are not measured alike."""
    if not histories:
        return None
    history = mean_history(histories)
    last, tail = history.last, history.tail
    if last is None or last.group_test_acc.get(tail, 0.0) <= last.group_train_acc.get(tail, 1.0):
        return None
    config = history.config
    if config.la_tau or config.tau_norm:
        step = (f"logit adjustment (τ = {config.la_tau:g}), which subtracts {config.la_tau:g}·log(class share) from "
                "the logits" if config.la_tau else f"τ-normalisation (τ = {config.tau_norm:g}) of the classifier")
        why = (f"test accuracy is scored after {step} and so moves test predictions towards the minor classes, "
               "while training accuracy is scored on the un-mixed training set without that post-hoc step")
    else:
        why = ("both are scored alike here (evaluation mode, un-mixed, no post-hoc step), so the gap is in the "
               "samples: a few minor training samples not fitted yet weigh much in a small class")
    return (f"Why is the {tail} classes' test accuracy ({last.group_test_acc[tail]:.0%}) above their training "
            f"accuracy ({last.group_train_acc[tail]:.0%})? Because {why}.")


def draw_statements(statements: list[Statement], box=None) -> None:
    """The narrator's sentences, numbered as on the charts."""
    box = box or st
    if not statements:
        return
    marked = 0
    lines = []
    for s in statements:
        if s.epoch > 0:
            marked += 1
            lines.append(f"**{marked}.** {s.text}")
        else:
            lines.append(f"• {s.text}")
    box.markdown("  \n".join(lines))
