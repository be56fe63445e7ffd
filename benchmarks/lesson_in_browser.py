"""A lesson's run-all in JupyterLab (headless Chromium) against the same notebook run headless
(nbclient), measured in one run: the ratio says what the browser's figures and widgets cost on top of
the kernel's work. Target: at most 1.5.

    .venv/bin/python benchmarks/lesson_in_browser.py                       # lesson 04 at the test size
    .venv/bin/python benchmarks/lesson_in_browser.py --lesson 01_what_imbalance_does

Needs Debian's Chromium (/usr/bin/chromium). Results: ``results/lesson_in_browser.json`` and ``.md``.
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
from lab_support import ENV, headless_seconds, run_all  # noqa: E402

from common import machine, save  # noqa: E402

TARGET_RATIO = 1.5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="04_procrustean_training", help="the notebook's name, without .ipynb")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="procrustes-lesson-bench-") as scratch:
        folder = Path(scratch) / "lessons"  # JupyterLab autosaves what it runs: a copy, not the checkout
        shutil.copytree(ROOT / "lessons", folder, ignore=shutil.ignore_patterns("saved", "__pycache__"))
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
