"""The server's one training service, shared by every browser session, and who owns a training.

Trainings never run in a page's script thread: a page submits them to the service (a local process
pool, or a Ray cluster when ``RAY_ADDRESS`` names one) and draws what its events have brought so far.
The service queues by owner, and the owner is the browser (its cookie's id), not the tab: a learner
with several tabs gets one share of the slots, not one per tab. A browser whose every tab has closed
is noticed within a second, and its trainings are stopped once ``RELOAD_GRACE_SECONDS`` have passed
with no tab (a reload opens a new tab, which returns to the training: ``runner.view``).

It also keeps what a class shares on this server: the name each browser's learner typed, and the preset a
teacher pushed to every session (each session loads it at the top of its next run: ``class_view.py``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

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


# ------------------------------------------------------------------ the class: names and a pushed preset
# Kept in this process, like the service: every session of the server reads them at the top of its run.

MAX_NAME = 40


@dataclass(frozen=True)
class ClassPreset:
    """A preset a teacher pushed to every session: its link's query parameters (settings, hidden controls,
    seeds) and its title; ``version`` grows with every push or clear, so a session sees each change once."""

    params: dict[str, str]
    title: str
    version: int


_class_lock = threading.Lock()
_class: dict[str, Any] = {"version": 0, "preset": None}
_names: dict[str, str] = {}  # owner (a browser) → the name its learner typed


def push_class_preset(params: dict[str, str], title: str) -> ClassPreset:
    """Make ``params`` (a link's query parameters) every session's class preset, from its next run on."""
    with _class_lock:
        _class["version"] += 1
        _class["preset"] = ClassPreset(dict(params), title, _class["version"])
        return _class["preset"]


def clear_class_preset() -> None:
    """End the class preset: sessions keep their settings and show every control again."""
    with _class_lock:
        if _class["preset"] is not None:
            _class["version"] += 1
            _class["preset"] = None


def class_preset() -> tuple[int, ClassPreset | None]:
    """The class preset's version (0: never pushed) and the preset, or None when there is none now."""
    with _class_lock:
        return _class["version"], _class["preset"]


def clean_name(text: object) -> str:
    """A typed name as the class table shows it: printable characters, single spaces, at most ``MAX_NAME``."""
    words = "".join(c if c.isprintable() else " " for c in str(text or "")).split()
    return " ".join(words)[:MAX_NAME].strip()


def set_learner_name(owner_id: str, name: object) -> str:
    """Remember the name a browser's learner typed (an empty one forgets it); returns the name kept."""
    found = clean_name(name)
    with _class_lock:
        if found:
            _names[owner_id] = found
        else:
            _names.pop(owner_id, None)
    return found


def learner_names() -> dict[str, str]:
    """Every browser's typed name, by owner."""
    with _class_lock:
        return dict(_names)
