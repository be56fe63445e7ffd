"""A lesson's run-all in JupyterLab (headless Chromium) against the same notebook run headless
(nbclient), measured in one run: the ratio says what the browser's figures and widgets cost on top of
the kernel's work. Target: at most 1.5. ``--all`` (or ``--lessons 12 13``) opens every lesson (or the
ones named) in JupyterLab at the test size, runs all its cells and records whether each cell ran,
any error shown and whether every figure rendered.

    .venv/bin/python benchmarks/lesson_in_browser.py                       # lesson 04 at the test size
    .venv/bin/python benchmarks/lesson_in_browser.py --lesson 01_what_imbalance_does
    .venv/bin/python benchmarks/lesson_in_browser.py --all                 # every lesson opens and runs

Needs Debian's Chromium (/usr/bin/chromium). Results: ``results/lesson_in_browser.json`` and ``.md``;
with ``--all`` or ``--lessons``: ``results/lessons_in_browser.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import chromium, lab_server  # noqa: E402
from lab_support import CELLS, ENV, ERRORS, PLOTS, headless_seconds, run_all  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from common import machine, save  # noqa: E402

TARGET_RATIO = 1.5


def copy_lessons(scratch: str) -> Path:
    """A copy of the lessons (JupyterLab autosaves what it runs: a copy, not the checkout)."""
    folder = Path(scratch) / "lessons"
    shutil.copytree(ROOT / "lessons", folder, ignore=shutil.ignore_patterns("saved", "full_size", "__pycache__"))
    return folder


def every_lesson(numbers: list[str] | None) -> int:
    """Open each lesson in JupyterLab, run all its cells, and record what the page shows."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="procrustes-lessons-lab-") as scratch:
        folder = copy_lessons(scratch)
        notebooks = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
        notebooks = [p for p in notebooks if not numbers or p.name[:2] in numbers]
        for notebook in notebooks:  # a server of its own each: a workspace restores the notebooks open before
            with lab_server(folder, env={**ENV, "PYTHONPATH": str(ROOT)}) as (url, token), chromium() as browser:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                stopped = None
                try:
                    run = run_all(page, url, token, notebook)
                except PlaywrightTimeout:  # run-all stops at a cell that fails: say where, and go on
                    state = page.evaluate(CELLS)
                    run = {"cells": state["done"], "seconds": float("nan"), "bytes": 0}
                    stopped = f"run-all stopped after {state['done']} of {state['code']} code cells"
                plots, errors = page.evaluate(PLOTS), page.evaluate(ERRORS)
                errors = errors or ([stopped] if stopped else [])
                page.close()
                rendered = sum(1 for p in plots if p["svg"] and p["traces"] > 0)
                rows.append({"lesson": notebook.stem, "code_cells": run["cells"], "seconds": round(run["seconds"], 1),
                             "figures": len(plots), "rendered": rendered, "errors": errors,
                             "received_mb": round(run["bytes"] / 1e6, 2)})
                print(f"{notebook.stem:<32} {run['cells']:3d} cells in {run['seconds']:6.1f} s, "
                      f"{rendered}/{len(plots)} figures rendered, {len(errors)} errors", file=sys.stderr, flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = ["# Every lesson in JupyterLab", "",
             "Each lesson opened in a JupyterLab server of its own in headless Chromium at the test size "
             "(`PROCRUSTES_FAST=1`), "
             "all cells run from the notebook's menu; *ran* counts the code cells with an execution count, *errors* "
             "the outputs that show an error or a traceback, *figures* the Plotly figures drawn with their traces.", "",
             "| lesson | code cells ran | run-all (s) | figures rendered | errors | received |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['lesson']} | {r['code_cells']} | {r['seconds']:.1f} | {r['rendered']} of {r['figures']} | "
              f"{len(r['errors'])} | {r['received_mb']:.2f} MB |" for r in rows]
    lines.append(f"\nLoad average at the end: {load:.1f}.")
    save("lessons_in_browser", {"rows": rows, "load_average": load, "machine": machine()}, "\n".join(lines) + "\n")
    return 0 if all(not r["errors"] and r["rendered"] == r["figures"] for r in rows) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="04_procrustean_training", help="the notebook's name, without .ipynb")
    parser.add_argument("--all", action="store_true", help="open and run every lesson in JupyterLab")
    parser.add_argument("--lessons", nargs="*", default=None, help="lesson numbers to open and run, e.g. 12 13")
    args = parser.parse_args(argv)
    if args.all or args.lessons:
        return every_lesson(None if args.all else args.lessons)
    with tempfile.TemporaryDirectory(prefix="procrustes-lesson-bench-") as scratch:
        folder = copy_lessons(scratch)
        notebook = folder / f"{args.lesson}.ipynb"
        with lab_server(folder, env={**ENV, "PYTHONPATH": str(ROOT)}) as (url, token), chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            run = run_all(page, url, token, notebook)
            page.close()
        headless = headless_seconds(notebook)
    ratio = run["seconds"] / headless
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    data = {"lesson": args.lesson, "browser_seconds": run["seconds"], "headless_seconds": headless, "ratio": ratio,
            "target_ratio": TARGET_RATIO, "code_cells": run["cells"], "websocket_bytes": run["bytes"],
            "websocket_frames": run["frames"], "load_average": load, "machine": machine()}
    markdown = (f"# {args.lesson}: run-all in JupyterLab against headless\n\n"
                f"| browser (s) | headless (s) | ratio | target | received | load |\n|---|---|---|---|---|---|\n"
                f"| {run['seconds']:.1f} | {headless:.1f} | {ratio:.2f} | ≤ {TARGET_RATIO} | "
                f"{run['bytes'] / 1e6:.2f} MB in {run['frames']} frames | {load:.1f} |\n")
    save("lesson_in_browser", data, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
