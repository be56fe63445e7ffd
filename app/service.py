"""The server's one training service, shared by every browser session, and who a session is.

Trainings never run in a page's script thread: a page submits them to the service (a local process
pool, or a Ray cluster when ``RAY_ADDRESS`` names one) and draws what its events have brought so far.
A session that closes its tab is noticed within a second and its trainings are stopped.
"""

from __future__ import annotations

import streamlit as st

from procrustes_core.training.service import TrainingService

from .limits import Limits
from .st_internals import session_alive, session_id

# Step events twice as often as the fastest page refresh (five a second), so that every refresh of a
# training page has new numbers to draw.
STEP_EVENT_SECONDS = 0.1


@st.cache_resource(show_spinner=False)
def _service(limits: Limits) -> TrainingService:
    return TrainingService(workers=limits.max_trainings, backend="ray" if limits.ray_address else "local",
                           budget=limits.budget, owner_slots=limits.session_slots, address=limits.ray_address,
                           owner_alive=session_alive, abandon_seconds=90.0, every_seconds=STEP_EVENT_SECONDS)


def service(limits: Limits) -> TrainingService:
    """The training service of this server (started on first use)."""
    return _service(limits)


def owner() -> str:
    """This browser session's id: trainings, slots and the fair queue are per session. It is kept in the
    session's state the first time, so a test harness whose sessions share one id can name each."""
    if "_owner" not in st.session_state:
        st.session_state["_owner"] = session_id() or "no-session"
    return st.session_state["_owner"]
