"""Procrustes app: the entry point (``make app``) — sidebar settings, pages, and live training.

Every script run: read the settings (from the link on a session's first run), mirror them into
the URL, draw the chosen page, then train the session's active job for a chunk and run again.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/streamlit_app.py` from a fresh clone
    sys.path.insert(0, str(ROOT))

import os  # noqa: E402

# Idle torch threads sleep instead of spinning, so several trainings share the cores politely.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

torch.classes.__path__ = []  # Streamlit's module watcher cannot walk torch.classes

import streamlit as st  # noqa: E402

from app import controls, runner  # noqa: E402
from app.limits import Limits, read_limits  # noqa: E402
from procrustes_core import ProcrustesError  # noqa: E402

HERE = Path(__file__).resolve().parent
log = logging.getLogger("procrustes.app")

st.set_page_config(page_title="Procrustes — imbalanced deep learning", page_icon=":material/balance:", layout="wide")


def server_limits() -> Limits:
    try:
        return read_limits()
    except ProcrustesError as err:
        st.error(f"Server setting not valid, defaults used: {err}")
        return Limits()


def train_active_job(limits: Limits, status) -> None:
    """Train the session's active job for a chunk, redrawing the page's live view, then go on."""
    current = runner.active_job()
    if current is None:
        return
    redraw = runner.view_for(current.kind)

    def draw(job: runner.Job) -> None:
        if redraw is not None:
            redraw(job)
        status.caption(f"Training ({job.kind}): {job.epochs_done} of {job.epochs_total} epochs")

    if runner.advance(limits, draw) and st.session_state.get("auto_continue", True):
        st.rerun()


def main() -> None:
    limits = server_limits()
    runner.warm_up()
    st.session_state.limits = limits
    st.session_state["_views"] = {}
    controls.init_session(limits)
    pages = [
        st.Page(HERE / "views" / "playground.py", title="Playground", icon=":material/tune:", default=True),
        st.Page(HERE / "views" / "compare.py", title="Compare runs", icon=":material/compare_arrows:"),
        st.Page(HERE / "views" / "sweep.py", title="Sweep", icon=":material/grid_on:"),
        st.Page(HERE / "views" / "boundary.py", title="Decision boundary", icon=":material/scatter_plot:"),
    ]
    page = st.navigation(pages)
    config = controls.sidebar(limits)
    if config is not None:
        controls.mirror_to_url(config)
    status = st.sidebar.empty()
    try:
        page.run()
    except Exception as err:  # never a traceback on the page
        log.exception("page failed")
        st.error(f"Something went wrong on this page: {type(err).__name__}: {err}")
    train_active_job(limits, status)


main()
