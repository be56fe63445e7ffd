"""A lesson in a real JupyterLab in headless Chromium, as a learner runs it: open it at the fast size, run
all cells, and check that no cell shows an error, that the widgets and the figures render, that a knob
redraws its figure, that the status line says the training finished, and how many bytes the page
received. How long run-all takes in the browser against headless is measured by
``benchmarks/lesson_in_browser.py``, not here.

Needs Debian's Chromium (``apt-get install chromium``). Without it the test is skipped, unless the
environment variable ``CI`` is set: there it must run. ``PROCRUSTES_LAB_LESSON`` picks another lesson
(default: lesson 04, the one with the most live figures).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from browser_support import ROOT, lab_server
from lab_support import ENV as LAB_ENV
from lab_support import ERRORS, PLOTS, run_all

LESSON = os.environ.get("PROCRUSTES_LAB_LESSON", "04_procrustean_training")
# Lessons opened and run all the same (no knob to turn): by default the one that writes code against the core;
# ``benchmarks/lesson_in_browser.py --all`` opens every lesson.
MORE = os.environ.get("PROCRUSTES_LAB_MORE", "13_implement_it_yourself").split(",")
LIVE_TITLES = {"01_what_imbalance_does": "Test accuracy", "04_procrustean_training": "Training accuracy"}
ENV = {**LAB_ENV, "PYTHONPATH": str(ROOT)}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A copy of the lessons (JupyterLab autosaves a notebook it runs; the checkout's stay without outputs)."""
    target = tmp_path_factory.mktemp("lab") / "lessons"
    shutil.copytree(ROOT / "lessons", target, ignore=shutil.ignore_patterns("saved", "full_size", "__pycache__"))
    return target


def test_a_lesson_runs_in_jupyterlab(browser, folder):
    notebook = folder / f"{LESSON}.ipynb"
    with lab_server(folder, env=ENV) as (url, token):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        run = run_all(page, url, token, notebook)
        page.wait_for_function(f"() => ({PLOTS})().length > 0 && ({PLOTS})().every(p => p.svg)", timeout=30_000)
        errors = page.evaluate(ERRORS)
        plots = page.evaluate(PLOTS)
        widgets = page.locator(".jp-Notebook .jupyter-widgets").count()
        text = page.locator(".jp-Notebook").inner_text()
        # a knob redraws its figure in place, from its callback, after its cell has finished
        before = page.evaluate(PLOTS)
        page.evaluate(f"() => {{ window.__figures = JSON.stringify(({PLOTS})().map(p => p.y)); }}")
        dropdown = page.locator(".jp-Notebook .widget-dropdown select").first
        options = dropdown.locator("option").all_inner_texts()
        dropdown.select_option([o for o in options if o != dropdown.input_value()][0])
        page.wait_for_function(f"() => JSON.stringify(({PLOTS})().map(p => p.y)) !== window.__figures",
                               timeout=30_000, polling=250)
        redrawn = page.evaluate(PLOTS)
        page.close()
    assert run["cells"] > 5
    assert not errors, errors
    assert plots and all(p["svg"] and p["traces"] > 0 for p in plots)
    assert widgets >= 1
    assert "finished:" in text  # the status line of a training, replaced when it ended
    live = [p for p in plots if p["title"].startswith(LIVE_TITLES.get(LESSON, ""))]  # the live training curves
    assert live and any(p["points"] == 3 for p in live)  # redrawn up to the last epoch (3 at the fast size)
    assert [p["y"] for p in redrawn] != [p["y"] for p in before]
    assert run["bytes"] < 5e6  # no plotly widget bundle (about 5 MB each) by default


@pytest.mark.parametrize("lesson", [name for name in MORE if name])
def test_more_lessons_open_and_run_in_jupyterlab(browser, folder, lesson):
    with lab_server(folder, env=ENV) as (url, token):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        run = run_all(page, url, token, folder / f"{lesson}.ipynb")
        page.wait_for_function(f"() => ({PLOTS})().length > 0 && ({PLOTS})().every(p => p.svg)", timeout=30_000)
        errors, plots = page.evaluate(ERRORS), page.evaluate(PLOTS)
        page.close()
    assert run["cells"] > 5 and not errors, errors
    assert plots and all(p["svg"] and p["traces"] > 0 for p in plots)
