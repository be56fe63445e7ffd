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
    assert fig.data[0].z.tolist() == [[0.6, 0.30000000000000004]] or fig.data[0].z[0][0] == pytest.approx(0.6)
