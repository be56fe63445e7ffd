"""The lessons: every notebook and every worked solution runs end to end at the fast size; each lesson
opens with prerequisites, objectives and time, has a prediction before the cell that answers it, cites
the shared bibliography; the exercise checks accept a right answer, reject a wrong one and say whether
the direction or the size is off; the kit's saved results and live figures behave."""

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
INSTRUCTOR = ROOT / "instructor"
SOLUTIONS = sorted((INSTRUCTOR / "solutions").glob("[0-9][0-9]_*.ipynb"))

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


LESSON_NUMBERS = [f"{k:02d}" for k in range(1, 16)]


def test_there_are_fifteen_lessons_each_with_worked_solutions_in_the_instructor_layer():
    assert [p.name[:2] for p in NOTEBOOKS] == LESSON_NUMBERS
    assert [p.name[:2] for p in SOLUTIONS] == LESSON_NUMBERS
    assert [p.stem for p in NOTEBOOKS] == [p.stem.removesuffix("_solutions") for p in SOLUTIONS]


def outputs(notebook, mime: str | None = None) -> list:
    found = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    return found if mime is None else [o for o in found if mime in o.get("data", {})]


PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"
# Odd-numbered lessons run with PROCRUSTES_LIVE=widget (plotly FigureWidgets), the others with the default
# (figures redrawn in place through display handles), so both ways of drawing live figures are exercised.
WIDGET_MODE = [p for p in NOTEBOOKS if int(p.name[:2]) % 2 == 1]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_runs_end_to_end(path):
    widget_mode = path in WIDGET_MODE
    notebook = execute(path, env={"PROCRUSTES_LIVE": "widget" if widget_mode else ""})
    assert not [o for o in outputs(notebook) if o.get("output_type") == "error"]
    if path in NOTEBOOKS:
        assert outputs(notebook, PLOTLY) or outputs(notebook, WIDGET)
        said = "".join(o.get("text", "") for o in outputs(notebook) if o.get("output_type") == "stream")
        assert "Traceback" not in said
    figure_widgets = [o for o in outputs(notebook, WIDGET) if "FigureWidget" in o["data"].get("text/plain", "")]
    if not widget_mode:  # the default draws no plotly FigureWidget: no 5 MB widget bundle for the browser
        assert not figure_widgets


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def bibliography() -> set[str]:
    import re

    return set(re.findall(r"^\| `\[([a-z0-9-]+)\]` \|", (LESSONS / "references.md").read_text(), re.MULTILINE))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lessons_open_with_prerequisites_objectives_and_time_and_end_with_references(path):
    import re

    import nbformat

    cells = nbformat.read(path, as_version=4).cells
    opening = cells[0].source
    for part in ("**Prerequisites.**", "**Learning objectives.**", "**Time at full size.**"):
        assert part in opening, (path.name, part)
    assert cells[-1].cell_type == "markdown" and "## References" in cells[-1].source
    known = bibliography()
    prose = [re.sub(r"`[^`]*`", "", c.source) for c in cells if c.cell_type == "markdown"]  # not inline code
    cited = {key for text in prose for key in re.findall(r"\[([a-z][a-z0-9-]+)\]", text)}
    assert cited and cited <= known, (path.name, sorted(cited - known))
    assert set(re.findall(r"\[([a-z][a-z0-9-]+)\]", cells[-1].source)) <= known


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lessons_have_predict_then_run_and_checked_exercises(path):
    import nbformat

    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    calls = sum(c.source.count("check_") for c in cells)
    assert calls >= 1 + 2, path.name  # the import line plus at least two exercises
    predicted = [i for i, c in enumerate(cells) if "prediction = None" in c.source]
    assert predicted, f"{path.name}: no prediction cell"
    first = predicted[0]
    name = cells[first].source.split("=")[0].strip()
    graded = [i for i, c in enumerate(cells) if name in c.source and i > first]
    assert graded, f"{path.name}: the prediction {name} is never graded"
    assert cells[first].source.strip().startswith(name)  # a cell of its own, before the cell that answers it


def test_no_lesson_states_the_figures_of_earlier_probes():
    import nbformat

    for path in NOTEBOOKS:
        text = " ".join(c.source for c in nbformat.read(path, as_version=4).cells)
        for claim in ("5.3 points", "8 of 8", "early probes"):
            assert claim not in text, (path.name, claim)


def test_lessons_choose_on_validation():
    """Every exercise that picks a setting does it on the validation split."""
    import nbformat

    for path in NOTEBOOKS + SOLUTIONS:
        for cell in nbformat.read(path, as_version=4).cells:
            picks = "check_best_method(" in cell.source or "check_best_setting(" in cell.source
            if cell.cell_type == "code" and picks:
                assert "value=\"balanced_acc\"" not in cell.source, path.name


def code_cells(number: str) -> list[str]:
    import nbformat

    path = next(p for p in NOTEBOOKS if p.name.startswith(number))
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_knobs_are_judged_on_validation_and_the_test_split_is_opened_once_on_fresh_seeds():
    """Lessons 4 and 10: every knob a learner turns is judged on validation; the test split is read only
    where the chosen setting is trained on fresh seeds."""
    cells = code_cells("04")
    assert all("val_balanced_acc" in c for c in cells if "train_live(" in c)  # the live figure a learner tunes by
    on_seeds = [c for c in cells if "compare_runs_paired(seeds[" in c]
    assert on_seeds and all('metric="val_balanced_acc"' in c for c in on_seeds)
    final = [c for c in cells if "FRESH_SEEDS" in c and "train_seeds(" in c]
    assert final and "chosen_tau" in final[0]  # τ chosen on validation is the one used at the end
    cells = code_cells("10")
    reads_test = [c for c in cells if "x_test, y_test)" in c]
    assert reads_test and all("FRESH_SEEDS" in c for c in reads_test)


def test_no_exercise_asks_for_a_value_its_own_cell_builds():
    """An exercise's answer is written before the cell that computes it (predict, run, explain): no cell
    both builds a comparison and asks for its value, and lesson 5 asks which methods correct the prior
    before its catalogue answers it."""
    for path in NOTEBOOKS:
        cells = code_cells(path.name[:2])
        for cell in cells:
            builds = "paired_comparison(" in cell or "compare_runs_paired(" in cell
            asks = any(f"{check}(" in cell for check in ("check_difference", "check_verdict", "check_wins"))
            assert not (builds and asks and "= None" in cell), (path.name, cell[:80])
    cells = code_cells("05")
    asked = next(i for i, c in enumerate(cells) if "my_correctors = None" in c)
    assert asked < next(i for i, c in enumerate(cells) if "catalogue = " in c)


def test_lessons_that_compare_many_settings_correct_with_holm_and_confirm_the_winner_on_fresh_seeds():
    for number in ("05", "07", "09"):
        assert any("holm(" in c for c in code_cells(number)), number
    cells = code_cells("05")
    chosen = next(i for i, c in enumerate(cells) if "best = " in c)
    assert any("FRESH_SEEDS" in c and "train_seeds(" in c for c in cells[chosen:])


def test_predictions_of_the_first_lessons_are_graded_on_several_seeds():
    """Lessons 1–3 grade each prediction against a comparison or values over seeds, never one run."""
    import re

    for number in ("01", "02", "03"):
        cells = code_cells(number)
        for i, cell in enumerate(cells):
            for first in re.findall(r"check_(?:times_)?prediction\(([^,]+),", cell):
                name = first.strip()
                assert re.fullmatch(r"[a-z_]+", name), (number, name)  # a comparison or a list, not arithmetic
                bound = [c for c in cells[:i + 1] if re.search(rf"\b{name} = ", c)]
                assert bound and "seeds" in bound[-1], (number, name)
    assert not any("resample_to_prior" in c for c in code_cells("01"))  # two samples per minor class


def test_lessons_do_not_repeat_retracted_claims():
    import nbformat

    for path in NOTEBOOKS:
        text = " ".join(c.source for c in nbformat.read(path, as_version=4).cells)
        for claim in ("Two causes", "two causes", "all classes progress together", "training effort",
                      "barely changes how", "≈ 12 s", "about 15 s", "narrower\nthan one seed's spread by about"):
            assert claim not in text, (path.name, claim)


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


def test_check_balanced_from_predictions():
    y_true, y_pred = [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 1]
    assert checks.check_balanced_from_predictions(y_true, y_pred, (1.0 + 0.5) / 2)
    assert not checks.check_balanced_from_predictions(y_true, y_pred, 5 / 6)  # plain accuracy


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


def test_checks_of_result_tables_choose_on_validation():
    import pandas as pd

    frame = pd.DataFrame({"method": ["erm", "erm", "mfw", "mfw"], "seed": [0, 1, 0, 1],
                          "val_balanced_acc": [0.66, 0.64, 0.60, 0.62], "balanced_acc": [0.60, 0.62, 0.70, 0.64]})
    assert checks.check_best_method(frame, "erm")  # best on validation
    assert not checks.check_best_method(frame, "mfw")  # best on test: the hint says so
    assert not checks.check_best_method(frame, "nonsense")
    assert checks.check_best_setting(frame, "method", "erm")
    assert not checks.check_best_setting(frame, "method", "mfw")
    assert checks.check_paired_gain(frame, "method", "mfw", "erm", 0.06)
    assert not checks.check_paired_gain(frame, "method", "mfw", "erm", -0.06)
    assert checks.check_sampling_probability([90, 10], 1, 1 / 20)
    assert not checks.check_sampling_probability([90, 10], 1, 1 / 100)


def test_check_best_method_says_when_the_answer_was_chosen_on_test(capsys):
    import pandas as pd

    frame = pd.DataFrame({"method": ["a", "b"], "seed": [0, 0], "val_balanced_acc": [0.7, 0.6],
                          "balanced_acc": [0.5, 0.8]})
    assert not checks.check_best_method(frame, "b")
    assert "test split" in said(capsys)


def comparison(a, b):
    from procrustes_core.analysis.compare import paired_comparison

    return paired_comparison(a, b, list(range(len(a))), "ERM + LA", "MFW + LA")


def test_check_conclusion_grades_each_field_and_never_accepts_a_contradiction(capsys):
    up = comparison([0.60, 0.61, 0.62, 0.60, 0.61], [0.63, 0.64, 0.64, 0.63, 0.65])
    right = {"direction": "higher", "difference": round(up.mean, 1), "wins": up.wins, "beyond_noise": True,
             "reasoning": "chosen on validation, confirmed on fresh seeds"}
    assert up.beyond_noise and checks.check_conclusion(right, up)
    assert "not graded" in said(capsys)
    assert not checks.check_conclusion({**right, "beyond_noise": "within"}, up)  # an interval above 0
    assert not checks.check_conclusion({**right, "direction": "lower"}, up)
    assert not checks.check_conclusion({**right, "difference": -right["difference"]}, up)
    assert not checks.check_conclusion({**right, "wins": up.wins - 1}, up)
    assert not checks.check_conclusion({**right, "beyond_noise": "not within noise"}, up)  # not read as a word
    assert not checks.check_conclusion(f"MFW + LA beat ERM + LA by {up.mean:.1f} points on {up.wins} of 5 seeds, "
                                       "which is within seed noise", up)  # free text is not graded as right
    assert "dict" in said(capsys)
    assert not checks.check_conclusion(None, up) and not checks.check_conclusion({"direction": "higher"}, up)
    # the case: +0.6 [−2.0, +3.2] claimed as "clearly beyond seed noise"
    noise = comparison([0.600, 0.620, 0.590, 0.615, 0.605], [0.616, 0.594, 0.624, 0.611, 0.615])
    _, lo, hi = noise.interval
    assert lo < 0 < hi and not noise.beyond_noise
    claim = {"direction": "higher", "difference": round(noise.mean, 1), "wins": noise.wins, "beyond_noise": True,
             "reasoning": "MFW beats ERM + LA, clearly beyond seed noise"}
    assert not checks.check_conclusion(claim, noise)
    assert "interval" in said(capsys)
    assert checks.check_conclusion({**claim, "beyond_noise": "within seed noise"}, noise)


def test_check_verdict_reads_only_the_two_verdicts():
    up = comparison([0.60, 0.61, 0.62, 0.60, 0.61], [0.63, 0.64, 0.64, 0.63, 0.65])
    assert checks.check_verdict(up, "beyond noise") and checks.check_verdict(up, True)
    for contradiction in ("not beyond noise", "within noise", "no", "noise", False):
        assert not checks.check_verdict(up, contradiction)
    noise = comparison([0.60, 0.62, 0.61, 0.63, 0.60], [0.61, 0.61, 0.62, 0.62, 0.60])
    assert checks.check_verdict(noise, "within seed noise")
    for contradiction in ("beyond noise, not within noise", "yes", "real", True):
        assert not checks.check_verdict(noise, contradiction)


def test_check_prediction_grades_against_the_mean_over_seeds_with_its_interval(capsys):
    # one seed far above the others: graded on the mean over the seeds, not on any one of them
    seeds = comparison([0.60, 0.60, 0.60, 0.60, 0.60], [0.70, 0.61, 0.62, 0.61, 0.61])
    mean, lo, hi = seeds.interval
    assert checks.check_prediction(seeds, round(mean, 1), tolerance=1)
    assert f"mean over 5 seeds is {mean:+.1f} [{lo:+.1f}, {hi:+.1f}]" in said(capsys)
    assert not checks.check_prediction(seeds, 10.0, tolerance=1)  # the first seed's figure, far from the mean
    assert lo + 0.1 < mean - 1 and checks.check_prediction(seeds, lo + 0.1, tolerance=1)  # inside the interval
    assert not checks.check_prediction(seeds, -mean, tolerance=1)
    assert "direction" in said(capsys)


def test_check_times_prediction_grades_a_ratio_against_the_mean_over_seeds(capsys):
    ratios = [3.0, 4.0, 5.0, 4.0, 4.0, 30.0]  # one seed far out: the mean, not that seed, is graded
    mean = float(np.mean(ratios))
    assert checks.check_times_prediction(ratios, mean * 1.3)
    assert "mean over 6 seeds" in said(capsys)
    assert not checks.check_times_prediction([3.0, 4.0, 5.0, 4.0, 4.0], 30.0)
    assert "too high" in said(capsys)
    assert not checks.check_times_prediction(ratios[:5], 0.5) and not checks.check_times_prediction(ratios, None)
    assert not checks.check_times_prediction(ratios, -2)


def test_holm_adjusts_p_values_as_computed_by_hand():
    from scipy import stats

    from procrustes_core.analysis.compare import holm, paired_p_value

    family = [comparison([0.60, 0.61, 0.62, 0.60, 0.61], b) for b in (
        [0.63, 0.64, 0.64, 0.63, 0.65], [0.61, 0.62, 0.63, 0.60, 0.63], [0.60, 0.62, 0.61, 0.61, 0.60])]
    d = np.array(family[1].differences)
    t = d.mean() / (d.std(ddof=1) / np.sqrt(5))
    assert paired_p_value(family[1]) == pytest.approx(2 * stats.t.sf(abs(t), 4))
    p = [paired_p_value(c) for c in family]
    order = np.argsort(p)  # by hand: m · p_(1), then max(previous, (m − 1) · p_(2)), then max(…, p_(3))
    by_hand = {}
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (3 - rank) * p[i]))
        by_hand[i] = running
    verdicts = holm(family)
    assert [v.adjusted_p for v in verdicts] == pytest.approx([by_hand[i] for i in range(3)])
    assert all(v.adjusted_p >= v.p_value for v in verdicts)
    # uncorrected, the second is beyond noise at 95 %; corrected for three comparisons it is not
    assert family[1].beyond_noise and p[1] * 2 >= 0.05 and not verdicts[1].beyond_noise
    assert verdicts[0].beyond_noise
    assert "after Holm's correction for 3 comparisons" in verdicts[1].sentence()
    assert verdicts[1].sentence().startswith(family[1].sentence().rsplit(" — ", 1)[0])
    assert holm(family[:1])[0].adjusted_p == pytest.approx(p[0])  # one comparison: nothing to correct
    with pytest.raises(Exception, match="no comparisons"):
        holm([])


def test_checks_of_direction_and_size(capsys):
    up = comparison([0.60, 0.61, 0.62, 0.60, 0.61], [0.63, 0.64, 0.64, 0.63, 0.65])
    assert checks.check_difference(up, up.mean)
    assert not checks.check_difference(up, -up.mean)
    assert "direction" in said(capsys)
    assert not checks.check_difference(up, up.mean + 1.0)
    assert "size" in said(capsys)
    assert not checks.check_difference(up, up.mean / 100)
    assert "points" in said(capsys)
    assert checks.check_verdict(up, "beyond noise") and not checks.check_verdict(up, "within noise")
    assert checks.check_wins(up, up.wins) and not checks.check_wins(up, 0)
    assert checks.check_prediction(3.0, 4.5, tolerance=2)
    assert not checks.check_prediction(3.0, -3.0, tolerance=2)
    assert "direction" in said(capsys)
    assert not checks.check_prediction(3.0, 9.0, tolerance=2)
    assert "size" in said(capsys)
    assert not checks.check_prediction(3.0, None) and not checks.check_prediction(3.0, "a lot")
    assert checks.check_prediction(0.4, -0.5, tolerance=2)  # both within noise of 0


def test_checks_of_the_new_lessons():
    import math

    from procrustes_core.analysis import calibration as cal

    weight = np.array([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    assert checks.check_gradient_bound(weight, math.sqrt(2) * 3)
    assert not checks.check_gradient_bound(weight, 3) and not checks.check_gradient_bound(weight, math.sqrt(20))
    assert checks.check_error_norm([0.7, 0.2, 0.1], 2, math.sqrt(0.49 + 0.04 + 0.81))
    assert not checks.check_error_norm([0.7, 0.2, 0.1], 2, 0.9)
    groups = {"major": [0, 1], "minor": [2, 3]}
    norms = np.array([2.0, 2.0, 1.0, 1.0])
    assert checks.check_norm_ratio(norms, groups, 2.0) and not checks.check_norm_ratio(norms, groups, 0.5)
    z, b = np.array([[1.0, 2.0, 3.0, 4.0]]), np.array([0.5, 0.0, 0.0, 0.0])
    assert checks.check_tau_normalised(z, b, norms, 1.0, (z - b) / norms + b)
    assert not checks.check_tau_normalised(z, b, norms, 1.0, z / norms)
    assert checks.check_remix_label([758, 7], 0, 1, 0.3, 0.0) and not checks.check_remix_label([758, 7], 0, 1, 0.3, 0.3)
    assert checks.check_remix_label([758, 7], 1, 0, 0.7, 1.0) and checks.check_remix_label([100, 90], 0, 1, 0.3, 0.3)
    positive = np.r_[np.ones(2, bool), np.zeros(198, bool)]
    assert checks.check_never_positive_accuracy(positive, 0.99)
    assert not checks.check_never_positive_accuracy(positive, 0.01)
    scores = np.linspace(1, 0, 200)
    assert checks.check_average_precision(scores, positive, 1.0)
    assert not checks.check_average_precision(scores, positive, 0.01)
    p2, y2 = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]]), np.array([0, 1, 0, 1])
    assert checks.check_ece(p2, y2, 0.5 * 0.4 + 0.25 * 0.4 + 0.25 * 0.3)
    assert not checks.check_ece(p2, y2, abs(0.75 - 0.775))  # one bin for everything
    rng = np.random.default_rng(0)
    p = cal.softmax(rng.normal(size=(300, 3)) * 3)
    prior, target = np.array([0.8, 0.1, 0.1]), np.array([1 / 3] * 3)
    assert checks.check_prior_shift(p[:4], prior, target, cal.prior_shift(p[:4], prior, target))
    assert not checks.check_prior_shift(p[:4], prior, target, p[:4] * target / prior)
    assert checks.check_bbn_alpha(20, 30, 5 / 9) and not checks.check_bbn_alpha(20, 30, 1 / 3)
    h = torch.randn(4, 6)
    w1, b1, w2, b2 = torch.randn(2, 4), torch.randn(2), torch.randn(4, 2), torch.randn(4)
    right = torch.sigmoid(w2 @ torch.relu(w1 @ h.mean(1) + b1) + b2)
    assert checks.check_se_weights(h, w1, b1, w2, b2, right)
    assert not checks.check_se_weights(h, w1, b1, w2, b2, right - 1)
    lam, partner = torch.tensor([1.0, 0.5]), torch.tensor([1, 0])
    hh = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert checks.check_hook_output(hh, lam, partner, torch.tensor([[1.0, 2.0], [2.0, 3.0]]))
    values = [0.60, 0.62, 0.61, 0.65, 0.59]
    assert checks.check_spread(values, float(np.std(values, ddof=1)))
    assert not checks.check_spread(values, float(np.std(values)))
    from scipy import stats

    half = stats.t.ppf(0.975, 4) * np.std(values, ddof=1) / math.sqrt(5)
    assert checks.check_half_width(values, half) and not checks.check_half_width(values, 1.96 * np.std(values, ddof=1))


def test_check_precision_word(history):
    confusion = np.array(history.last.confusion)
    for c in range(len(confusion)):
        called = confusion[:, c].sum()
        word = "never predicted" if called == 0 else (
            "high" if confusion[c, c] / called >= 0.7 else "low" if confusion[c, c] / called < 0.3 else "medium")
        assert checks.check_precision_word(history, c, word)
        assert not checks.check_precision_word(history, c, "nonsense")


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


def test_lesson_settings_come_from_the_story_preset(monkeypatch):
    import importlib

    import kit

    from procrustes_core.presets import STORY

    monkeypatch.setenv("PROCRUSTES_FAST", "0")
    full = importlib.reload(kit)
    config = full.lesson_config()
    differ = {k for k, v in STORY.items() if getattr(config, k) != v}
    assert not differ, differ  # the preset itself, plus a validation split
    assert config.mixer == "none" and config.val_per_class > 0 and len(full.SEEDS) >= 5
    assert full.lesson_config(mixer="mfw").mfw_layer == STORY["mfw_layer"]


def test_saved_results_round_trip_and_refuse_other_settings(tmp_path, history, capsys):
    import json

    import kit

    result = {"ERM": [history]}
    seeds = [history.config.seed]
    path = kit.save_result("05-test", result, seeds, folder=tmp_path)
    assert path.exists()
    named = {"ERM": history.config}
    loaded = kit.load_saved("05-test", named, seeds, folder=tmp_path)
    assert json.loads(loaded["ERM"][0].to_json()) == json.loads(history.to_json())  # 1 == 1.0
    assert "SAVED RESULT" in said(capsys)
    assert kit.load_saved("05-test", {"ERM": history.config.replace(ratio=3.0)}, seeds, folder=tmp_path) is None
    assert "other settings" in said(capsys)
    assert kit.load_saved("06-absent", named, seeds, folder=tmp_path) is None
    told = said(capsys)
    assert "no saved result" in told and "lesson_times.py --size full --lessons 06" in told


@pytest.mark.slow
def test_train_with_outputs_keeps_logits_features_and_checkpoints(tmp_path, page_script_as_main):
    import kit

    from procrustes_core import TrainConfig

    config = TrainConfig(n_samples=2000, width=8, epochs=1, threads=1, ratio=10, val_per_class=5)
    runs = kit.train_with_outputs({"ERM": config, "later": lambda seed: config.replace(epochs=2)}, seeds=[0, 1],
                                  features=["ERM"], checkpoints=str(tmp_path))
    first = runs["ERM"][0]
    assert [o.seed for o in runs["ERM"]] == [0, 1] and len(runs["later"][1].history.records) == 2
    assert first.logits["test"].shape == (len(first.labels["test"]), 10) and first.features["train"].ndim == 2
    assert runs["later"][0].features is None and len(first.head_norms) == len(first.head_bias) == 10
    assert (tmp_path / "ERM-seed1.pt").exists()


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


def test_widgets_are_asked_about_once_per_kernel_and_never_built(monkeypatch):
    import plotly.graph_objects as go

    from procrustes_core.figures import live

    kernel = object()
    monkeypatch.setattr(live, "_kernel", lambda: kernel)
    monkeypatch.setattr(live, "_WIDGETS", {})
    built = []
    monkeypatch.setattr(go.FigureWidget, "__init__", lambda self, *a, **k: built.append(1))
    assert live.widgets_available() and live.widgets_available()
    assert not built and list(live._WIDGETS) == [id(kernel)]
    monkeypatch.delenv("PROCRUSTES_LIVE", raising=False)
    assert live.live_mode() == "static"  # the default in a kernel: no FigureWidget, no widget bundle
    monkeypatch.setenv("PROCRUSTES_LIVE", "widget")
    assert live.live_mode() == "widget"
    live._WIDGETS[id(kernel)] = False
    assert live.live_mode() == "static"


def test_status_says_which_epoch_and_how_many_runs(capsys):
    from procrustes_core.figures.live import Status

    status = Status()
    status.seeds(3, 10)
    status.seeds(10, 10)
    out = capsys.readouterr().out
    assert "training: 3 of 10 runs finished" in out and "finished: 10 runs" in out


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
    from procrustes_core.notebook import train_live

    config = TrainConfig(n_samples=2000, width=8, epochs=2, threads=1, ratio=10)
    runs = train_live({"ERM": Trainer(config), "MFW": Trainer(config.replace(mixer="mfw", mfw_strength=0.9))},
                      [lambda hs: figures.compare_runs(hs, "balanced_acc")])
    assert {name: len(h.records) for name, h in runs.items()} == {"ERM": 2, "MFW": 2}
    out = capsys.readouterr().out
    assert "MFW: epoch 2" in out and "training: epoch 1 of 2" in out and "finished: 2 epochs" in out
