"""Figure builders: one trace per class, minor classes marked, phases annotated."""

import pandas as pd
import pytest

from procrustes_core import figures, run


@pytest.fixture(scope="module")
def history():
    from procrustes_core import TrainConfig

    return run(TrainConfig(n_samples=2000, ratio=10, width=8, epochs=3, threads=1))


def test_class_count_bars_show_every_class(history):
    fig = figures.class_count_bars(history.counts, history.class_names, history.groups)
    assert list(fig.data[0].y) == history.counts


def test_class_curves_have_one_trace_per_class_and_dash_minor_classes(history):
    for metric in ("train_acc", "test_acc", "grad_norm", "f1"):
        fig = figures.class_curves(history, metric)
        assert len(fig.data) == 10
        minor = [t for t in fig.data if "minor" in t.name]
        assert len(minor) == 5 and all(t.line.dash == "dash" for t in minor)
        assert list(fig.data[0].x) == [1, 2, 3]
    assert figures.gradient_curves(history).layout.yaxis.type == "log"


def test_under_fit_phase_is_shaded(history):
    fig = figures.class_curves(history, "train_acc")
    assert any(a.text == "under-fit" for a in fig.layout.annotations)


def test_confusion_and_table(history):
    fig = figures.confusion_figure(history)
    assert fig.data[0].z.shape == (10, 10)
    table = figures.per_class_table(history)
    assert len(table) == 10 and table["test samples"].nunique() == 1


def test_compare_runs_and_group_metric(history):
    fig = figures.compare_runs({"a": history, "b": history}, "test_acc:minor")
    assert [t.name for t in fig.data] == ["a", "b"] and len(fig.data[0].y) == 3


def test_sweep_heatmap_averages_over_seeds():
    frame = pd.DataFrame({"ratio": [10, 10, 100, 100], "mfw_strength": [0.0, 0.0, 0.0, 0.0],
                          "balanced_acc": [0.5, 0.7, 0.2, 0.4]})
    fig = figures.sweep_heatmap(frame)
    assert list(fig.data[0].x) == ["10", "100"] and len(fig.data[0].y) == 1
    assert fig.data[0].z[0] == pytest.approx([0.6, 0.3])  # every cell: the mean of its two seeds


@pytest.fixture(scope="module")
def step_and_history():
    from procrustes_core import TrainConfig, Trainer
    from procrustes_core.training.events import StepEvent

    trainer = Trainer(TrainConfig(n_samples=2000, ratio=10, width=8, epochs=2, threads=1))
    steps = [e for e in trainer.steps(every_batches=2) if isinstance(e, StepEvent)]
    return steps, trainer.history


def test_every_curve_builder_passes_plotlys_own_checks(history, step_and_history):
    """The curve builders skip Plotly's per-property checks for speed; here the same figures must pass
    them (a misspelt property raises)."""
    import plotly.graph_objects as go

    steps, stepped = step_and_history
    marks = figures.epoch_marks([1, 3], ["1", "2"])
    built = [figures.class_curves(history, "train_acc", marks=marks, height=300),
             figures.class_curves(history, "grad_norm"), figures.loss_curve(history, marks=marks),
             figures.group_curves(history, marks=marks), figures.seed_band_curves([history, history], "test_acc"),
             figures.compare_runs({"a": history}), figures.compare_bands({"a": [history, history]}),
             figures.class_count_bars(history.counts, log_y=True, estimated=True, height=230),
             figures.epoch_progress(stepped, steps[-1]), figures.epoch_progress(stepped, steps[0], finished=True,
                                                                             label="seed 3")]
    for fig in built:
        go.Figure(fig.to_dict())  # raises on anything Plotly does not know
    assert built[0].layout.height == 300 and built[0].layout.xaxis.range == (0.5, 3.5)
    with pytest.raises(ValueError):
        go.Figure({"data": [{"type": "scatter", "colour": "red"}]})  # the check above can fail


def test_epoch_marks_are_numbered_lines_at_their_epochs(history):
    fig = figures.class_curves(history, "train_acc", marks=figures.epoch_marks([2, 0, 3], ["1", "x", "2"]))
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [s.x0 for s in lines] == [2, 3]  # epoch 0 (a statement of the whole run) is not marked
    notes = {a.text for a in fig.layout.annotations}
    assert {"1", "2"} <= notes and "x" not in notes


def test_epoch_progress_shows_each_class_running_accuracy(step_and_history):
    steps, history = step_and_history
    step = steps[-1]
    fig = figures.epoch_progress(history, step, label="seed 3")
    bars = fig.data[0]
    assert len(bars.x) == history.num_classes
    assert list(bars.y) == [a if a is not None else 0.0 for a in step.train_acc]
    title = fig.layout.title.text
    assert title.startswith(figures.runs.PROGRESS_TITLE) and f"epoch {step.epoch}" in title and "seed 3" in title
    assert f"{step.progress:.0%}" in title and "(the last)" not in title
    assert "(the last)" in figures.epoch_progress(history, step, finished=True).layout.title.text
    earlier = next(s for s in steps if s.epoch < history.records[-1].epoch)
    assert "(the last)" not in figures.epoch_progress(history, earlier, finished=True).layout.title.text
    unseen = [t for a, t in zip(step.train_acc, bars.text) if a is None]
    assert all(t == "–" for t in unseen)  # a class not seen yet is a dash, not 0 %
