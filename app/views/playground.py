"""Playground: set the imbalance and the method, predict, press Train, watch every class learn — on
several seeds at once — with the narrator stating the paper's claims as the run shows them."""

from __future__ import annotations

import streamlit as st

from app import runner, state
from app.components.live import (
    buttons,
    draw_curves,
    draw_progress,
    draw_statements,
    la_note,
    live_fragment,
    run_tasks,
    statements_for,
    status_line,
)
from app.components.run_view import class_count_chart, final_results, sampled
from procrustes_core import ProcrustesError, TrainConfig, build_data
from procrustes_core.analysis.predictions import QUESTIONS, grade
from procrustes_core.analysis.seeds import mean_history
from procrustes_core.data.augment import augmentation_examples
from procrustes_core.figures.lessons import augmentation_figure
from procrustes_core.figures.runs import feature_view
from procrustes_core.training.jobs import TaskView

KIND = "playground"


@st.cache_resource(show_spinner=False, max_entries=4)
def augmentable_data(config_json: str):
    """The run's data, for the augmentation picture (built once per setting; the budget caps its size)."""
    return build_data(TrainConfig.from_json(config_json))

config = state.config()
limits = st.session_state.limits


def start() -> None:
    """Train pressed (a callback: the job exists before the page is drawn, so Stop is live at once)."""
    current = state.config()
    state.current().message = None  # the link's note has been read: training is the learner's own now
    question = st.session_state.get("w_question")
    said = st.session_state.get(f"w_prediction_{question}")
    st.session_state.prediction = (question, said) if question in QUESTIONS and said is not None else None
    try:
        seeds = state.seeds_for(current, limits)
    except ProcrustesError as err:  # e.g. seeds past the largest seed
        st.session_state[f"{KIND}_problem"] = str(err)
        return
    st.session_state[f"{KIND}_problem"] = runner.start(KIND, [(runner.run_label(current), current)], limits,
                                                       seeds=seeds, extras=("features", "probabilities"))


# question → (what the answer is, smallest, largest, step, format): the input asks in the question's own unit
PREDICTION_INPUTS = {
    "minor-half": ("epoch", 1, None, 1, "%d"),
    "minor-test": ("test accuracy, 0 to 1", 0.0, 1.0, 0.05, "%.2f"),
    "gradient-peak": ("times larger", 1.0, 10_000.0, 1.0, "%g"),
}


def prediction_input(question: str, column, epochs: int) -> None:
    """The prediction's field for one question, in its unit and range; empty: no prediction to grade."""
    unit, low, high, step, shown = PREDICTION_INPUTS[question]
    column.number_input(f"Your prediction ({unit})", min_value=low, max_value=high if high is not None else epochs,
                        value=None, step=step, format=shown, key=f"w_prediction_{question}",
                        placeholder="type a number", help="Write it down before you press Train; the page grades "
                                                          "it against the run when it ends.")


def projector_switched() -> None:
    state.current().view = "projector" if st.session_state.w_projector else None


title, switch = st.columns([5, 1], vertical_alignment="bottom")
title.markdown("#### Playground")
switch.toggle("Projector view", value=state.current().projector, key="w_projector", on_change=projector_switched,
              help="Charts and narrator on one screen in large type, for a class's screen (the link keeps it).")
if config is not None:
    try:
        count = len(state.seeds_for(config, limits))
        counted = f" · {count} seed{'s' if count > 1 else ''}"
    except ProcrustesError:  # said in one line when Train is pressed
        counted = ""
    st.caption(f"**{runner.run_label(config)}** · {runner.describe(config)} · {config.epochs} epochs{counted}")
with st.container(key="train-row"):
    ask, answer, train_col, stop_col, reset_col = st.columns([2.6, 1.3, 0.8, 0.8, 0.8], vertical_alignment="bottom")
    question = ask.selectbox("Predict first", list(QUESTIONS), format_func=lambda k: QUESTIONS[k].text,
                             key="w_question")
    prediction_input(question, answer, config.epochs if config is not None else 1)
    view = buttons(KIND, "Train", start, config is not None, ("train", "stop", "reset"),
                   columns=(train_col, stop_col, reset_col))


def draw(current) -> None:
    """The live block: the four curves on the left; status, narrator and class counts on the right (on a
    phone, where columns stack, the right column comes first: ``STYLE`` in streamlit_app.py)."""
    projector = state.current().projector
    with st.container(key="live-block"):
        curves_column, side = st.columns([2.2, 1.3] if projector else [3, 1.15], gap="medium")
    with side:
        if current is None:
            st.info("Press **Train**. Four charts grow epoch by epoch: training accuracy per class "
                    "(on the un-mixed training set), test accuracy, the feature gradient ‖∂loss/∂h‖ and the loss; "
                    "with several seeds, each seed a thin line and the mean of each group a bold one. They grow once "
                    "per epoch, after its evaluation pass; here, the epoch in progress is drawn several times a "
                    "second from its mini-batches. The narrator says here what the run shows as it happens.")
            tasks, statements = [], []
        else:
            tasks = run_tasks(current)
            statements = statements_for(tasks, finished=not current.training)
            st.caption(status_line(current))
        # the narrator first (a phone shows it before the charts), in a box that keeps the progress chart's
        # place however many sentences it holds
        said = st.container()
        if not projector:
            draw_progress(tasks, "playground")  # there from the start (empty), so its first figure draws at once
        if current is not None:
            with said:
                for error in {t.error for t in current.job.tasks if t.error}:
                    st.error(error)
                for warning in {w for t in tasks for w in t.history.warnings}:
                    st.warning(warning)
                draw_statements(statements)
                note = la_note([t.history for t in tasks if t.history is not None and t.history.records])
                if note:
                    st.caption(note)
        if config is not None and not projector:
            class_count_chart(config)
    with curves_column:
        draw_curves(tasks, "playground", statements, large=projector)


live_fragment(KIND, draw)

if config is not None and config.augment != "none":
    with st.expander(f"What the {config.augment} augmentation does to minor-class samples", expanded=False):
        try:
            limits.budget.check(config)  # data are built only for a request the server would train
            data = augmentable_data(config.to_json())
            examples = augmentation_examples(data, config.augment, count=4)
            st.plotly_chart(augmentation_figure(*examples, data.class_names), key="augmentation_view")
            st.caption("The same four training samples before and after one draw of the augmentation; the label never "
                       f"changes. It is applied to {config.augment_classes} classes with probability "
                       f"{config.augment_prob:g}.")
        except ProcrustesError as err:
            st.error(str(err))


def beyond_accuracy(task: TaskView) -> None:
    """Precision–recall per class, the reliability diagram and a threshold for the minor classes, from the
    last epoch's test predictions of one seed (after the run's own post-hoc setting)."""
    import numpy as np

    from procrustes_core.analysis.calibration import calibration_summary
    from procrustes_core.figures.calibration import calibration_figures

    history = task.history
    probabilities = np.asarray(task.probabilities["probabilities"])
    labels = np.asarray(task.probabilities["labels"])
    summary = calibration_summary(probabilities, labels, history.groups)
    adjusted = " (with logit adjustment)" if history.config.la_tau else ""
    st.caption(f"Seed {task.seed}, test split, last epoch{adjusted}: {summary.sentence()}. "
               "Accuracy counts hits; these ask how well the scores rank the samples of a class, whether a score of "
               "0.8 is right 80 % of the time, and what a threshold on a minor class trades.")
    figures = calibration_figures(probabilities, labels, history.counts, history.class_names, history.groups)
    for tab, (name, fig) in zip(st.tabs([name[0].upper() + name[1:] for name in figures]), figures.items()):
        tab.plotly_chart(fig, key=f"beyond-{name}", config={"displayModeBar": False})


view = runner.view(KIND, limits)
if view is not None and not view.training:
    tasks = run_tasks(view)
    histories = [t.history for t in tasks if t.history is not None and t.history.records]
    prediction = st.session_state.get("prediction")
    if prediction and histories:
        st.info(grade(prediction[0], mean_history(histories), float(prediction[1])))
    with_points = [t for t in tasks if t.replay]
    if with_points:
        with st.expander("Feature space: the penultimate features, epoch by epoch", expanded=False):
            replay = with_points[0].replay
            epochs = replay["epochs"]
            pick = st.select_slider("Epoch", epochs, value=epochs[-1], key="feature_epoch") if len(epochs) > 1 \
                else epochs[0]
            history = with_points[0].history
            st.plotly_chart(feature_view(replay["points"][epochs.index(pick)], replay["labels"], history.groups,
                                         history.class_names, f"Seed {with_points[0].seed}, epoch {pick}: "
                                         f"{sampled(history.counts)} on the last epoch's two main directions"),
                            key="feature_view")
            st.caption("One projection for every epoch (the last epoch's principal plane), so what moves between "
                       "epochs moved in the network. Minor classes are diamonds. While MFW is on, major-class "
                       "features are pulled towards other classes'; watch whether the minor classes separate or "
                       "sink into a major cluster.")
    with_probabilities = [t for t in tasks if t.probabilities and t.history is not None]
    if with_probabilities:
        with st.expander("Beyond accuracy: precision–recall, calibration and a decision threshold", expanded=False):
            beyond_accuracy(with_probabilities[0])
    if histories:
        st.subheader("Results of the last epoch")
        if len(histories) > 1:
            seed = st.selectbox("Seed", [h.config.seed for h in histories], key="result_seed")
            shown = next(h for h in histories if h.config.seed == seed)
        else:
            shown = histories[0]
        final_results(shown, key="playground")
