"""Each session's side of a class (a server with a teacher key): the name box a learner types into, and the
class preset a teacher pushed, loaded at the top of the session's next run with a one-line notice (an open page
asks every few seconds, so a push reaches it untouched)."""

from __future__ import annotations

import streamlit as st

from . import state
from .limits import Limits, is_teacher_key
from .service import MAX_NAME, class_preset, learner_names, owner, set_learner_name
from .url_state import read_link

SEEN = "_class_preset_seen"  # the class preset's version this session has loaded
NAME = "w_learner_name"
WATCH_SECONDS = 3.0  # how often an open learner page asks whether the teacher pushed or ended a class preset


def _learner_session(limits: Limits) -> bool:
    """A class is on (the server has a teacher key) and this session is a learner's, not the teacher's."""
    return bool(limits.teacher_key) and not is_teacher_key(state.current().teacher_key, limits)


def follow_class_preset(limits: Limits) -> None:
    """Load the class preset into this session's state if it changed since the session last looked (its
    settings, hidden controls and seeds, as from a link), and say so in one line. A cleared preset leaves
    the settings and shows every control again. The notice's box is there on every run, so the page below
    keeps its place."""
    box = st.container()
    if not _learner_session(limits):
        return
    version, preset = class_preset()
    seen = st.session_state.get(SEEN)
    st.session_state[SEEN] = version
    current = state.current()
    if version != seen:
        if preset is not None:
            link = read_link(preset.params, limits)
            current.load(link.config, link.hide, link.seeds, preset=link.preset)
        elif seen is not None:  # cleared while this session was following it
            current.hide = ()
            box.info("Your teacher ended the class preset: every control is back.")
    if preset is not None:
        box.info(f"Your teacher set the class preset **{preset.title}** for everyone.")
    with box:
        _watch()


@st.fragment(run_every=WATCH_SECONDS)
def _watch() -> None:
    """An open page that nobody touches still follows the class: a push or an end reruns the whole page."""
    if class_preset()[0] != st.session_state.get(SEEN):
        st.rerun()


def _name_typed() -> None:
    st.session_state[NAME] = set_learner_name(owner(), st.session_state[NAME])


def name_box(limits: Limits) -> None:
    """The learner's name for the teacher's table, in the sidebar (kept per session and per browser on the
    server, never in a link)."""
    if not _learner_session(limits):
        return
    if NAME not in st.session_state:
        st.session_state[NAME] = learner_names().get(owner(), "")
    st.sidebar.text_input("Your name", key=NAME, max_chars=MAX_NAME, on_change=_name_typed,
                          placeholder="for your teacher's table",
                          help="Your teacher's table lists your results under this name. It stays on this server, "
                               "never in a link.")
