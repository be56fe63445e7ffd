"""Procrustes app: the entry point (``make app``) — sidebar settings, pages, and the training service.

Every script run: the app's one state (read from the link on a session's first run) draws the
sidebar's widgets, whose edits write it; the state is mirrored into the URL and the chosen page draws.
Trainings run on the server's training service (worker processes, or a Ray cluster), never in this
script: pages submit them and draw their events in fragments that refresh a few times a second.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/streamlit_app.py` from a fresh clone
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import classroom, controls, state, store  # noqa: E402
from app.limits import Limits, is_teacher_key, read_limits  # noqa: E402
from app.presets import PRESETS  # noqa: E402
from app.service import service  # noqa: E402
from app.st_internals import is_script_control, unwatch_torch_classes  # noqa: E402
from procrustes_core import ProcrustesError  # noqa: E402

HERE = Path(__file__).resolve().parent
unwatch_torch_classes()
log = logging.getLogger("procrustes.app")

st.set_page_config(page_title="Procrustes — imbalanced deep learning", page_icon=":material/balance:", layout="wide",
                   initial_sidebar_state="auto")  # a phone opens on the page, not the sidebar


def server_limits() -> Limits:
    try:
        return read_limits()
    except ProcrustesError as err:
        st.error(f"Server setting not valid, defaults used: {err}")
        return Limits()


# The first line clears Streamlit's header bar (nothing is cut under it). On a phone (columns stack there) the
# live block shows the narrator's column before the charts, and Train, Stop and Reset share one row, so Train
# and the narrator are in view at once.
STYLE = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 3.9rem; padding-bottom: 2rem; }
[data-testid="stSidebarContent"] [data-testid="stVerticalBlock"] { gap: 0.55rem; }
[data-testid="stStatusWidget"] { visibility: hidden; }  /* the page's own Stop is the one that stops training */
@media (max-width: 640px) {
  .st-key-live-block [data-testid="stHorizontalBlock"] { flex-direction: column-reverse; }
  .st-key-train-row [data-testid="stHorizontalBlock"] { flex-flow: row wrap; }
  .st-key-train-row [data-testid="stColumn"]:nth-child(-n+2) { flex: 1 1 100% !important; }
  .st-key-train-row [data-testid="stColumn"]:nth-child(n+3) { min-width: 0 !important; flex: 1 1 0 !important; }
}
</style>"""
# A projector: no sidebar, no header bar, large type; the charts and the narrator fill one screen.
PROJECTOR_STYLE = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"] { display: none; }
[data-testid="stMainBlockContainer"] { padding-top: 1rem; max-width: 100%; }
[data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stMain"] button { font-size: 1.35rem; }
.st-key-live-block p { font-size: 1.6rem; line-height: 1.35; }
</style>"""
# Pages that set their own data and methods: the sidebar shows what of it they use instead of its controls.
OWN_SETTINGS = {
    "Decision boundary": "This page trains 2-D points with its own shape, imbalance, epochs and methods (set above "
                         "its charts). Of the Playground's settings it keeps only the network's width and "
                         "normalisation, the optimiser, learning rate, batch size and seed.",
}


def notes() -> None:
    """What every page says first: the link's problems, and the preset's task. Each in a box that is there
    even when empty, so that the page below keeps its place when a message goes (a page whose live block
    moves is drawn afresh: its charts reload)."""
    link, task = st.container(), st.container()
    current = state.current()
    if current.message:
        link.warning(current.message)
    preset = current.preset
    if preset in PRESETS and PRESETS[preset].note:
        task.info(f"**{PRESETS[preset].title}.** {PRESETS[preset].note}")


def read_session_link(limits: Limits) -> bool:
    """On a session's first run, its state from the link (``state.current``), and ``?teacher=KEY`` taken
    out of the address bar even where the settings are not valid yet (the rest is mirrored from the
    state), so the key never travels in a shared link. True when the link's key opens the Teacher page."""
    fresh = not state.started()
    current = state.current(limits)
    if "teacher" in st.query_params:
        del st.query_params["teacher"]
    return fresh and is_teacher_key(current.teacher_key, limits)


def main() -> None:
    limits = server_limits()
    st.session_state.limits = limits
    problem = st.container()  # there on every run, so the page below keeps its place
    try:
        service(limits)  # started with the server's first page: its workers load while the learner reads
    except ProcrustesError as err:  # e.g. a Ray cluster that does not answer: one line, the page still draws
        problem.error(f"The training service could not start: {err}")
    store.prepare_once(str(limits.store_folder), **store.caps(limits))
    store.browser_id()
    store.set_cookie_once()
    open_teacher = read_session_link(limits)
    classroom.follow_class_preset(limits)  # a preset the teacher pushed since this session's last run
    pages = [
        st.Page(HERE / "views" / "playground.py", title="Playground", icon=":material/tune:", default=True),
        st.Page(HERE / "views" / "compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page(HERE / "views" / "sweep.py", title="Sweep", icon=":material/grid_on:"),
        st.Page(HERE / "views" / "boundary.py", title="Decision boundary", icon=":material/scatter_plot:"),
    ]
    teacher = None
    if limits.teacher_key:  # listed only for a session holding the key: learners never see the entry
        teacher = st.Page(HERE / "views" / "teacher.py", title="Teacher", icon=":material/school:",
                          visibility="visible" if is_teacher_key(state.current().teacher_key, limits)
                          else "hidden")
        pages.append(teacher)
    page = st.navigation(pages)
    if open_teacher and teacher is not None and page is not teacher:
        st.switch_page(teacher)
    classroom.name_box(limits)
    own = OWN_SETTINGS.get(page.title)
    if own:
        st.sidebar.info(own)
    else:
        controls.sidebar(limits)
    state.mirror_to_url()
    st.html(STYLE + (PROJECTOR_STYLE if state.current().projector else ""))
    notes()
    try:
        page.run()
    except Exception as err:  # never a traceback on the page
        if is_script_control(err):
            raise
        log.exception("page failed")
        st.error(f"Something went wrong on this page: {type(err).__name__}: {err}")


main()
