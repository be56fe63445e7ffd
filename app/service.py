"""The server's one training service, shared by every browser session, and who owns a training.

Trainings never run in a page's script thread: a page submits them to the service (a local process
pool, or a Ray cluster when ``RAY_ADDRESS`` names one) and draws what its events have brought so far.
The service queues by owner, and the owner is the browser (its cookie's id), not the tab: a learner
with several tabs gets one share of the slots, not one per tab. A browser whose every tab has closed
is noticed within a second, and its trainings are stopped once ``RELOAD_GRACE_SECONDS`` have passed
with no tab (a reload opens a new tab, which returns to the training: ``runner.view``).
"""

from __future__ import annotations

import threading
import time

import streamlit as st

from procrustes_core.training.service import TrainingService

from .limits import Limits
from .st_internals import session_alive as tab_alive
from .st_internals import session_id

# Step events twice as often as the fastest page refresh (five a second), so that every refresh of a
# training page has new numbers to draw.
STEP_EVENT_SECONDS = 0.1


# A reload closes a browser's tab and opens a new one a moment later: its trainings wait this long for it.
RELOAD_GRACE_SECONDS = 20.0

_lock = threading.Lock()
_sessions: dict[str, set[str]] = {}  # owner (a browser) → the ids of its sessions (tabs) seen so far
_last_alive: dict[str, float] = {}  # owner → when a tab of it was last seen connected


def session_alive(owner: str) -> bool:
    """Whether a tab of this owner (a browser; or a session id itself) is still connected to this server."""
    with _lock:
        sessions = set(_sessions.get(owner, ())) or {owner}
    alive = {s for s in sessions if tab_alive(s)}  # all of them without a server (tests drive the page)
    with _lock:
        if owner in _sessions:  # forget closed tabs and gone browsers: the map does not grow with every tab
            if alive:
                _sessions[owner] = alive
            else:
                del _sessions[owner]
    return bool(alive)


def alive_or_reloading(owner: str, now: float | None = None) -> bool:
    """Whether a tab of this owner is connected, or was within ``RELOAD_GRACE_SECONDS`` (a reload's new tab
    is on its way): the service stops an owner's trainings only when this is False."""
    now = time.monotonic() if now is None else now
    if session_alive(owner):
        with _lock:
            _last_alive[owner] = now
        return True
    with _lock:
        seen = _last_alive.get(owner)
        if seen is not None and now - seen > RELOAD_GRACE_SECONDS:
            del _last_alive[owner]  # the map does not grow with every browser that ever came
            seen = None
    return seen is not None


@st.cache_resource(show_spinner=False)
def _service(limits: Limits) -> TrainingService:
    return TrainingService(workers=limits.max_trainings, backend="ray" if limits.ray_address else "local",
                           budget=limits.budget, owner_slots=limits.session_slots, address=limits.ray_address,
                           owner_alive=alive_or_reloading, abandon_seconds=90.0, every_seconds=STEP_EVENT_SECONDS)


def service(limits: Limits) -> TrainingService:
    """The training service of this server (started on first use)."""
    return _service(limits)


def owner() -> str:
    """Who this session's trainings belong to: its browser (slots and the fair queue are per browser, and
    a new training replaces the browser's previous one, whichever tab started it). It is kept in the
    session's state the first time, so a test harness can name each of its sessions."""
    from . import store

    if "_owner" not in st.session_state:
        st.session_state["_owner"] = store.browser_id()
    found = st.session_state["_owner"]
    tab = session_id()
    if tab is not None:
        with _lock:
            _sessions.setdefault(found, set()).add(tab)
    return found
