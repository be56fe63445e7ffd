"""The lessons: every notebook and every worked solution runs end to end at the fast size, and the
exercise checks accept a right answer and reject a wrong one."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
NOTEBOOKS = sorted(LESSONS.glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((LESSONS / "solutions").glob("[0-9][0-9]_*.ipynb"))

sys.path.insert(0, str(LESSONS))
import checks  # noqa: E402  (lives in lessons/, next to the notebooks that import it)


@functools.lru_cache(maxsize=1)
def kernel_name() -> str:
    """A kernelspec that starts this interpreter (the venv's): ``python3`` when it does, otherwise one
    installed into ``sys.prefix`` under its own name."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
        if spec.argv[0] in ("python", "python3", sys.executable):
            return "python3"  # jupyter_client starts a bare "python" as sys.executable
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(prefix=sys.prefix, kernel_name="procrustes-lessons", display_name="Python (procrustes lessons)")
    return "procrustes-lessons"


def execute(path: Path, env: dict[str, str] | None = None, timeout: int = 300):
    """Run a notebook in its own folder at the fast size; an error in any cell fails the test."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    previous = {k: os.environ.get(k) for k in ("PROCRUSTES_FAST", *(env or {}))}
    os.environ.update({"PROCRUSTES_FAST": "1", **(env or {})})
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name=kernel_name(),
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return notebook


def test_there_are_six_lessons_each_with_worked_solutions():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]
    assert [p.name[:2] for p in SOLUTIONS] == ["01", "02", "03", "04", "05", "06"]


def outputs(notebook, mime: str | None = None) -> list:
    found = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    return found if mime is None else [o for o in found if mime in o.get("data", {})]


# Even-numbered lessons run with widgets switched off, so both ways of drawing live figures are exercised.
STATIC = [p for p in NOTEBOOKS if int(p.name[:2]) % 2 == 0]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_runs_end_to_end(path):
    static = path in STATIC
    notebook = execute(path, env={"PROCRUSTES_LIVE": "static" if static else ""})
    assert not [o for o in outputs(notebook) if o.get("output_type") == "error"]
    if path in NOTEBOOKS:
        drawn = "application/vnd.plotly.v1+json" if static else "application/vnd.jupyter.widget-view+json"
        assert outputs(notebook, drawn)
    if static:  # no plotly FigureWidget when widgets are off: live figures are redrawn as static figures
        assert not [o for o in outputs(notebook, "application/vnd.jupyter.widget-view+json")
                    if "FigureWidget" in o["data"].get("text/plain", "")]


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_lessons_start_with_learning_goals_and_have_exercises_with_checks():
    import nbformat

    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        assert "Learning goals" in cells[0].source, path.name
        calls = sum(c.source.count("check_") for c in cells if c.cell_type == "code")
        assert calls >= 2 + 1, path.name  # the import line plus at least two exercises


# ---------------------------------------------------------------- the checks accept right, reject wrong


@pytest.fixture(scope="module")
def history():
    from procrustes_core import TrainConfig, run

    return run(TrainConfig(n_samples=2000, width=8, epochs=3, threads=1, ratio=20))


def said(capsys) -> str:
    return capsys.readouterr().out


def test_check_step_counts(capsys):
    assert checks.check_step_counts(100, 10, 4, [100, 100, 10, 10])
    assert not checks.check_step_counts(100, 10, 4, [100, 100, 10, 11])
    assert not checks.check_step_counts(100, 10, 4, None)
    assert "100" not in said(capsys).replace("[100, 100, 10, 11]", "")


def test_check_balanced_accuracy(history):
    confusion = np.array(history.last.confusion)
    right = float(np.mean(np.diag(confusion) / confusion.sum(1)))
    assert checks.check_balanced_accuracy(history, right)
    assert not checks.check_balanced_accuracy(history, right + 0.05)


def test_check_prior_weighted_accuracy(history):
    prior = np.array(history.counts) / sum(history.counts)
    right = float(prior @ np.array(history.last.recall))
    assert checks.check_prior_weighted_accuracy(history, right)
    assert not checks.check_prior_weighted_accuracy(history, right - 0.1)


def test_check_most_confused(history):
    mistakes = np.array(history.last.confusion)
    np.fill_diagonal(mistakes, -1)
    i, j = np.unravel_index(mistakes.argmax(), mistakes.shape)
    assert checks.check_most_confused(history, (int(i), int(j)))
    assert not checks.check_most_confused(history, (int(i), int(i)))


def test_checks_of_training_phases(history):
    from procrustes_core.analysis.phases import find_phases
    from procrustes_core.data.imbalance import head_and_tail

    head, tail = head_and_tail(history.groups)
    mean = lambda values, members: float(np.mean([values[c] for c in members]))  # noqa: E731
    under = 0
    for r in history.records:  # the opening epochs where minor < half of major
        if mean(r.train_acc, tail) >= 0.5 * mean(r.train_acc, head):
            break
        under += 1
    assert checks.check_underfit_epochs(history, under)
    assert not checks.check_underfit_epochs(history, under + 1)
    shaded = next((p for p in find_phases(history) if p.name == "under-fit"), None)
    assert under == (0 if shaded is None else shaded.last_epoch - shaded.first_epoch + 1)  # what the plot shades
    gap = mean(history.last.train_acc, tail) - mean(history.last.test_acc, tail)
    assert checks.check_generalisation_gap(history, gap)
    assert not checks.check_generalisation_gap(history, gap + 0.2)
    reached = [r.epoch for r in history.records if mean(r.train_acc, tail) >= 0.0]
    assert checks.check_first_epoch_reaching(history, 0.0, reached[0])
    assert not checks.check_first_epoch_reaching(history, 0.0, "never")
    assert checks.check_first_epoch_reaching(history, 1.01, "never")


def test_check_logit_gradient():
    logits, label = [2.0, 0.5, -1.0], 1
    p = np.exp(logits) / np.exp(logits).sum()
    assert checks.check_logit_gradient(logits, label, p - np.eye(3)[label])
    assert not checks.check_logit_gradient(logits, label, p)
    assert not checks.check_logit_gradient(logits, label, [1.0, 2.0])


def test_checks_of_gradient_norms(history):
    from procrustes_core.data.imbalance import head_and_tail

    head, tail = head_and_tail(history.groups)
    norms = [(np.mean([r.grad_norm[c] for c in tail]), np.mean([r.grad_norm[c] for c in head]))
             for r in history.records]
    assert checks.check_gradient_ratio(history, 1, norms[0][0] / norms[0][1])
    assert not checks.check_gradient_ratio(history, 1, norms[0][1] / norms[0][0] + 1)
    assert not checks.check_gradient_ratio(history, 99, 1.0)
    peak = int(np.argmax([t for t, _ in norms])) + 1
    assert checks.check_peak_epoch(history, peak)
    assert not checks.check_peak_epoch(history, peak + 1)


def test_checks_of_feature_weakening():
    assert checks.check_class_weights([100, 10, 1], 1.0, [1.0, 9 / 99, 0.0])
    assert not checks.check_class_weights([100, 10, 1], 1.0, [0.0, 90 / 99, 1.0])
    assert checks.check_mixing_coefficient(0.9, 1.0, 0.5, 0.55)
    assert not checks.check_mixing_coefficient(0.9, 1.0, 0.5, 0.45)
    h = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    lam, partner = torch.tensor([1.0, 0.5, 0.2]), torch.tensor([2, 0, 1])
    right = lam[:, None] * h + (1 - lam[:, None]) * h[partner]
    assert checks.check_mixed_features(h, lam, partner, right)
    assert not checks.check_mixed_features(h, lam, partner, h)
    logits, counts = np.array([[1.0, 2.0]]), [90, 10]
    right = logits - 1.0 * np.log(np.array(counts) / 100)
    assert checks.check_adjusted_logits(logits, counts, 1.0, right)
    assert not checks.check_adjusted_logits(logits, counts, 1.0, logits)


def test_checks_of_result_tables():
    import pandas as pd

    frame = pd.DataFrame({"method": ["erm", "erm", "mfw", "mfw"], "seed": [0, 1, 0, 1],
                          "balanced_acc": [0.60, 0.62, 0.70, 0.64]})
    assert checks.check_best_method(frame, "mfw")
    assert not checks.check_best_method(frame, "erm")
    assert not checks.check_best_method(frame, "nonsense")
    assert checks.check_best_setting(frame, "method", "mfw")
    assert not checks.check_best_setting(frame, "method", "erm")
    assert checks.check_paired_gain(frame, "method", "mfw", "erm", 0.06)
    assert not checks.check_paired_gain(frame, "method", "mfw", "erm", -0.06)
    assert checks.check_sampling_probability([90, 10], 1, 1 / 20)
    assert not checks.check_sampling_probability([90, 10], 1, 1 / 100)
    backed = "Weakening reached 0.67 against 0.61 for plain training: better on both seeds."
    assert checks.check_conclusion(backed, frame)
    assert not checks.check_conclusion("Weakening is better.", frame)
    assert not checks.check_conclusion("We measured 0.67 and 0.61.", frame)


def test_check_prior_correctors():
    candidates = ["ce", "focal", "class-balanced", "logit-adjustment", "mfw"]
    assert checks.check_prior_correctors(candidates, {"class-balanced", "logit-adjustment"})
    assert not checks.check_prior_correctors(candidates, {"class-balanced", "mfw"})
    assert not checks.check_prior_correctors(candidates, None)


# ---------------------------------------------------------------- knobs and live figures


def test_knobs_take_their_ranges_from_the_config_rules():
    import kit

    assert kit.knob("ratio", 50.0).value == 50.0
    strength = kit.knob("mfw_strength", 0.9)
    assert (strength.min, strength.max, strength.value) == (0.0, 1.0, 0.9)
    assert kit.knob("mfw_gamma", 1.0).min > 0  # the config refuses gamma = 0
    assert kit.knob("mfw_layer", "block2").options[0] == "input"
    knobs = kit.Knobs(ratio=20.0, mixer="mfw", mfw_strength=0.5)
    config = knobs.config()
    assert (config.ratio, config.mfw_strength, config.dataset) == (20.0, 0.5, "mnist1d")


def test_fast_mode_keeps_lesson_runs_small(monkeypatch):
    import importlib

    import kit

    monkeypatch.setenv("PROCRUSTES_FAST", "1")
    fast = importlib.reload(kit)
    try:
        assert fast.lesson_config(epochs=30, n_samples=12000).epochs == fast.FAST_SIZE["epochs"]
        assert fast.lesson_config(n_samples=12000).n_samples == fast.FAST_SIZE["n_samples"]
    finally:
        monkeypatch.setenv("PROCRUSTES_FAST", "0")
        assert not importlib.reload(kit).FAST


def test_live_figure_outside_a_kernel_keeps_the_latest_figure():
    import plotly.graph_objects as go

    from procrustes_core.figures.live import LiveFigure, live_mode

    assert live_mode() == "none"
    points = [1.0]
    live = LiveFigure(lambda: go.Figure(go.Scatter(y=list(points)))).show()
    points.append(2.0)
    live.update()
    assert list(live.figure.data[0].y) == [1.0, 2.0] and live.updates == 1
    with pytest.raises(ValueError):
        live_mode("sometimes")


def test_widget_figures_are_replaced_in_place():
    import plotly.graph_objects as go

    from procrustes_core.figures.live import _replace_in_place

    widget = go.FigureWidget(go.Scatter(y=[1, 2]))
    _replace_in_place(widget, go.Figure(go.Scatter(y=[3, 4, 5])).update_layout(title="new"))
    assert list(widget.data[0].y) == [3, 4, 5] and widget.layout.title.text == "new"
    _replace_in_place(widget, go.Figure([go.Bar(y=[1]), go.Scatter(y=[2])]))
    assert [t.type for t in widget.data] == ["bar", "scatter"]


def test_train_live_trains_several_runs_in_turn(capsys):
    from procrustes_core import TrainConfig, Trainer, figures
    from procrustes_core.figures.live import train_live

    config = TrainConfig(n_samples=2000, width=8, epochs=2, threads=1, ratio=10)
    runs = train_live({"ERM": Trainer(config), "MFW": Trainer(config.replace(mixer="mfw", mfw_strength=0.9))},
                      [lambda hs: figures.compare_runs(hs, "balanced_acc")])
    assert {name: len(h.records) for name, h in runs.items()} == {"ERM": 2, "MFW": 2}
    assert "MFW: epoch 2" in capsys.readouterr().out
