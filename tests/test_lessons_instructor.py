"""The instructor layer and what lessons 12–15 add: no solution where students browse, every graded
prediction with its expected full-size range from a saved run, every lesson's app link naming a page and
a preset the app has, shipped full-size outputs that are small and match their lesson, and the checks
and saved-result readers of the later lessons accepting right and rejecting wrong."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
NOTEBOOKS = sorted(LESSONS.glob("[0-9][0-9]_*.ipynb"))
SHIPPED = LESSONS / "full_size"
sys.path.insert(0, str(LESSONS))
sys.path.insert(0, str(ROOT))
import checks  # noqa: E402
import kit_extra  # noqa: E402

from instructor import ranges  # noqa: E402

LINK = re.compile(r"\]\((http://localhost:8501/[^)\s]*)\)")


def read(path: Path):
    return nbformat.read(path, as_version=4)


def test_no_solution_lives_under_lessons():
    found = [p.relative_to(ROOT) for p in LESSONS.rglob("*") if "solution" in p.name.lower()]
    assert not found, found
    assert (ROOT / "instructor" / "solutions").is_dir()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_prediction_has_an_expected_range_in_the_instructor_layer(path):
    notebook = read(path)
    written = ranges.prediction_cells(notebook)
    graded = ranges.graded_predictions(notebook)
    assert set(written) == set(graded), (path.name, written, graded)  # every prediction written is graded
    if not graded:
        return
    expected = ranges.load_expected().get(path.stem)
    assert expected is not None, f"{path.stem}: no expected ranges; run `make lesson-outputs`"
    assert list(expected["predictions"]) == graded, path.name
    assert (ROOT / expected["source"]).exists()  # the saved run they were read from
    for name, row in expected["predictions"].items():
        lo, hi = row["accepted"]
        assert math.isfinite(row["mean"]) and lo <= row["mean"] <= hi, (path.name, name)
    table = ranges.TABLE.read_text(encoding="utf-8")
    assert all(f"`{name}`" in table for name in graded)


def app_pages() -> set[str]:
    """The URL paths of the app's pages a learner can open ("" is the default page)."""
    source = (ROOT / "app" / "streamlit_app.py").read_text(encoding="utf-8")
    pages = re.findall(r'st\.Page\(HERE / "views" / "(\w+)\.py"[^)]*?(default=True)?\)', source)
    found = {"" if default else name for name, default in pages}
    return found - {"teacher"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_lesson_links_to_an_app_page_and_a_preset_that_exist(path):
    from app.limits import Limits
    from app.presets import PRESETS
    from app.url_state import read_link

    links = LINK.findall(read(path).cells[0].source)
    assert links, f"{path.name}: no link to the app in its opening cell"
    for link in links:
        parts = urlsplit(link)
        assert parts.path.strip("/") in app_pages(), (path.name, parts.path)
        params = dict(parse_qsl(parts.query))
        assert params.get("preset") in PRESETS, (path.name, params)
        assert read_link(params, Limits()).message is None, (path.name, link)  # every setting of the link is used


def test_app_pages_are_read_from_the_app():
    assert {"", "compare", "sweep"} <= app_pages() and "teacher" not in app_pages()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_shipped_full_size_outputs_are_small_and_match_their_lesson(path):
    shipped = SHIPPED / path.name
    assert shipped.exists(), f"{path.stem}: no shipped outputs; run `make lesson-outputs`"
    assert shipped.stat().st_size < 1_000_000
    lesson, saved = read(path), read(shipped)
    code = [c.source for c in lesson.cells if c.cell_type == "code"]
    assert [c.source for c in saved.cells if c.cell_type == "code"] == code  # remade since the lesson changed
    assert "Saved full-size run" in saved.cells[0].source
    ran = [c for c in saved.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in ran)
    said = " ".join(o.get("text", "") for c in ran for o in c.outputs)
    assert "FAST test size" not in said and "Traceback" not in said


# ---------------------------------------------------------------- recorded predictions and their ranges


def test_a_graded_prediction_records_the_range_its_check_accepts(tmp_path, monkeypatch):
    from procrustes_core.analysis.compare import paired_comparison

    record = tmp_path / "predictions.jsonl"
    monkeypatch.setenv(checks.RECORD_PREDICTIONS, str(record))
    measured = paired_comparison([0.60, 0.61, 0.62, 0.60, 0.61], [0.63, 0.64, 0.66, 0.63, 0.65])
    assert not checks.check_prediction(measured, None, "the gain", tolerance=2)  # unanswered: still recorded
    checks.check_times_prediction([3.0, 4.0, 5.0], 4.0)
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    assert [r["kind"] for r in rows] == ["points", "times"]
    lo, hi = rows[0]["accepted"]
    assert rows[0]["mean"] == pytest.approx(measured.mean) and rows[0]["seeds"] == 5
    assert checks.check_prediction(measured, lo, tolerance=2) and checks.check_prediction(measured, hi, tolerance=2)
    assert not checks.check_prediction(measured, lo - 0.1, tolerance=2)
    assert not checks.check_prediction(measured, hi + 0.1, tolerance=2)
    t_lo, t_hi = rows[1]["accepted"]
    assert checks.check_times_prediction([3.0, 4.0, 5.0], t_hi) and not checks.check_times_prediction(
        [3.0, 4.0, 5.0], t_hi * 1.01)
    written = record.read_text()
    monkeypatch.delenv(checks.RECORD_PREDICTIONS)
    checks.check_prediction(measured, 3.0)
    assert record.read_text() == written  # nothing written without the variable


def test_expected_ranges_pair_records_with_the_predictions_in_cell_order():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("my_a_prediction = None"),
        nbformat.v4.new_code_cell("check_prediction(first, my_a_prediction, 'a')\nmy_ratio = None"),
        nbformat.v4.new_code_cell("my_b_prediction = None"),
        nbformat.v4.new_code_cell("check_times_prediction(peaks, my_b_prediction)")])
    assert ranges.prediction_cells(notebook) == ["my_a_prediction", "my_b_prediction"]
    rows = [{"mean": 1.0}, {"mean": 2.0}]
    paired = ranges.expected_from_records(notebook, rows, "here")["predictions"]
    assert paired == {"my_a_prediction": {"mean": 1.0}, "my_b_prediction": {"mean": 2.0}}
    with pytest.raises(ValueError, match="1 graded predictions recorded, 2 in the cells"):
        ranges.expected_from_records(notebook, rows[:1], "here")


# ---------------------------------------------------------------- lessons 12–15: saved results and checks


def test_fidelity_comparison_reads_the_saved_runs_the_report_summarises():
    table = json.loads((kit_extra.RESULTS / "fidelity.json").read_text())["rows"]
    row = next(r for r in table if r["setting"].startswith("step-100: our layout + BatchNorm"))
    learner = dict(model="cnn1d", norm="batch", width=32, n_samples=10_000, epochs=30, profile="step", ratio=100.0)
    weakening = dict(mixer="mfw", mfw_layer="penultimate", mfw_strength=0.5, mfw_schedule="warmup", mfw_until=0.5,
                     mfw_detach=False, mfw_after_norm=False)
    found = kit_extra.fidelity_comparison(learner, {**learner, **weakening}, seeds=list(range(101, 109)))
    assert found.mean == pytest.approx(row["difference (points)"], abs=0.01)
    assert f"{found.wins}/{found.n}" == row["seeds better"]


def test_fidelity_comparison_refuses_a_setting_that_names_several_runs():
    from procrustes_core import ProcrustesError

    network = dict(model="cnn1d", norm="batch", width=64, n_samples=20_000, epochs=60, profile="step", ratio=100.0)
    weakening = dict(mixer="mfw", mfw_layer="block2", mfw_strength=0.9, mfw_schedule="warmup", mfw_until=0.5)
    with pytest.raises(ProcrustesError, match="mfw_detach"):
        kit_extra.fidelity_comparison(network, {**network, **weakening})
    with pytest.raises(ProcrustesError, match="metric="):
        kit_extra.fidelity_scores("accuracy", model="cnn1d")


def test_real_data_comparison_pairs_the_benchmark_scores_by_seed():
    saved = json.loads((kit_extra.RESULTS / "real_data.json").read_text())
    scores = saved["story"]["mnist-5k step-10"]["scores"]
    found = kit_extra.real_data_comparison("mnist-5k step-10")
    assert found.a_values == scores["erm + LA"]["balanced"] and found.b_values == scores["mfw + LA"]["balanced"]
    assert found.seeds == saved["seeds"]


def test_check_same_as_core_accepts_a_right_function_and_rejects_a_wrong_one(capsys):
    counts = [100, 100, 10, 10]
    draws = [(torch.randn(6, 3), torch.tensor([0, 1, 2, 3, 0, 2]), counts, 0.9, torch.rand(6), torch.randperm(6))]

    def right(h, labels, counts, strength, u, partner):
        w = torch.tensor([1.0, 1.0, 0.0, 0.0])
        lam = (1 - strength * w[labels] * u)[:, None]
        return lam * h + (1 - lam) * h[partner]

    assert checks.check_same_as_core(right, checks.mfw_reference, draws, "mine")
    assert not checks.check_same_as_core(lambda h, *rest: h, checks.mfw_reference, draws, "mine")
    assert "differs" in capsys.readouterr().out
    assert not checks.check_same_as_core(lambda *a: None, checks.mfw_reference, draws)
    assert not checks.check_same_as_core(lambda *a: 1 / 0, checks.mfw_reference, draws)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_ldam_reference_is_the_formula():
    logits, labels, counts = torch.randn(5, 3, dtype=torch.float64), torch.tensor([0, 1, 2, 2, 1]), [100, 10, 1]
    margins = torch.tensor(counts, dtype=torch.float64) ** -0.25
    margins = 0.5 * margins / margins.max()
    shifted = logits - 30 * margins[labels][:, None] * torch.nn.functional.one_hot(labels, 3)
    assert float(checks.ldam_reference(logits, labels, counts)) == pytest.approx(
        float(torch.nn.functional.cross_entropy(shifted, labels)))


def test_check_numerical_gradient_against_autograd(capsys):
    x = torch.randn(3, 2, dtype=torch.float64)

    def f(z):
        return (z.sin() * z).sum()

    assert checks.check_numerical_gradient(f, x, checks.reference_numerical_gradient(f, x))
    forward = (torch.stack([f(x + 1e-5 * e.reshape(x.shape)) for e in torch.eye(6, dtype=torch.float64)])
               - f(x)) / 1e-5  # one-sided: right to about 1e-5, not to the check's 1e-5 everywhere
    assert not checks.check_numerical_gradient(f, x, forward.reshape(x.shape) + 1e-3)
    assert not checks.check_numerical_gradient(f, x, torch.zeros(6))
    assert "shape" in capsys.readouterr().out
    assert not checks.check_numerical_gradient(f, x, None)
    error = checks.numerical_gradient_error(f, x, checks.reference_numerical_gradient(f, x.float(), 1e-5))
    assert error > 1e-6  # float32 differences are far coarser than float64's


def test_answer_keys_are_made_from_the_solutions_as_they_are_now():
    from instructor import keys

    assert keys.KEYS.read_text(encoding="utf-8") == keys.render(), "run `python -m instructor.keys`"
