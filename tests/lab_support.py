"""A lesson in a real JupyterLab: what a page shows (as JavaScript run in it), run-all in the browser, and
the same notebook run headless — shared by the JupyterLab test and the lesson benchmark.

    with lab_server(folder, env=ENV) as (url, token), chromium() as browser:
        page = browser.new_page(); run = run_all(page, url, token, notebook)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ENV = {"PROCRUSTES_FAST": "1", "PROCRUSTES_LIVE": ""}  # the lessons' test size, static live figures
WAIT = 420_000  # ms; generous, for a busy 2-core machine

CELLS = """() => {
    const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
    const prompts = cells.map(c => (c.querySelector('.jp-InputPrompt') || {}).textContent || '');
    return {code: cells.length, done: prompts.filter(p => /\\[\\d+\\]/.test(p)).length,
            running: prompts.filter(p => p.includes('*')).length};
}"""
PLOTS = """() => [...document.querySelectorAll('.jp-Notebook .js-plotly-plot')].map(gd => ({
    svg: !!gd.querySelector('.main-svg'), traces: (gd.data || []).length,
    title: String((gd.layout && gd.layout.title && (gd.layout.title.text || gd.layout.title)) || ''),
    y: JSON.stringify(((gd.data || [])[0] || {}).y || []),
    points: Math.max(0, ...(gd.data || []).map(t => (t.x || []).length))}))"""
KERNEL_IDLE = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle';
}"""
ERRORS = """() => [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')]
    .filter(o => o.getAttribute('data-mime-type') === 'application/vnd.jupyter.error'
                 || (o.textContent || '').includes('Traceback')
                 || (o.textContent || '').includes('Error displaying widget'))
    .map(o => (o.textContent || '').slice(0, 300))"""


def run_all(page, url: str, token: str, notebook: Path) -> dict:
    """Open ``notebook`` in JupyterLab, wait for its kernel, run all cells and wait until every code cell
    ran: {"seconds": run-all in the browser, "cells": code cells, "bytes"/"frames": websocket traffic}."""
    received = {"bytes": 0, "frames": 0}

    def on_socket(socket):
        def count(payload):
            received["bytes"] += len(payload)
            received["frames"] += 1
        socket.on("framereceived", count)

    page.on("websocket", on_socket)
    page.goto(f"{url}/lab/tree/{notebook.name}?token={token}", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=WAIT)
    page.wait_for_function(KERNEL_IDLE, timeout=WAIT)
    cells = page.evaluate(CELLS)
    started = time.perf_counter()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(f"() => ({CELLS})().done === {cells['code']} && ({CELLS})().running === 0",
                           timeout=WAIT, polling=250)
    return {"seconds": time.perf_counter() - started, "cells": cells["code"], **received}


def headless_seconds(path: Path) -> float:
    """Run-all of the notebook headless, in a started kernel (as in the browser, start-up not counted)."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    env = {**ENV, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        with client.setup_kernel():
            started = time.perf_counter()
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
            return time.perf_counter() - started
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
