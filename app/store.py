"""Each browser's finished runs, kept on the server so a reload or a new tab still lists them.

A browser is known by a random id in a cookie (``procrustes_browser``), set the first time a page is
shown; its runs are JSON files under ``PROCRUSTES_RUN_STORE/<id>/``, written atomically, at most
``MAX_RUNS`` per browser (the oldest go first). Without cookies the runs live as long as the session.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import streamlit as st

from procrustes_core import ProcrustesError, RunHistory
from procrustes_core.files import atomic_write_text

COOKIE = "procrustes_browser"
MAX_RUNS = 60
_ID = re.compile(r"^[0-9a-f]{32}$")


def browser_id() -> str:
    """This browser's id: from its cookie, or a new one the page asks the browser to keep."""
    if "browser_id" in st.session_state:
        return st.session_state.browser_id
    found = None
    try:
        found = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no request context (tests): a session-only id
        found = None
    if not isinstance(found, str) or not _ID.match(found):
        found = uuid.uuid4().hex
        st.session_state.set_cookie = found
    st.session_state.browser_id = found
    return found


def set_cookie_once() -> None:
    """Ask the browser to remember its id for a year (a tiny script, once per new id), in a box that is
    there on every run: the page below must not move when the script is gone (a live block that moves
    is drawn afresh)."""
    value, box = st.session_state.pop("set_cookie", None), st.container()
    if value:
        box.html(f"<script>document.cookie = '{COOKIE}={value}; path=/; max-age=31536000; SameSite=Lax';</script>",
                unsafe_allow_javascript=True)


def _folder(root: Path) -> Path:
    return root / browser_id()


def save(root: Path, label: str, history: RunHistory) -> None:
    """Keep a finished run (a failure to write only costs the run's survival of a reload)."""
    folder = _folder(root)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}.json"
        atomic_write_text(folder / name, json.dumps({"label": label, "run": history.to_dict()}), "run store")
        files = sorted(folder.glob("*.json"))
        for old in files[:-MAX_RUNS]:
            old.unlink(missing_ok=True)
    except (OSError, ProcrustesError):
        pass


def load(root: Path) -> list[tuple[str, RunHistory]]:
    """This browser's kept runs, oldest first (files that do not read as runs are skipped)."""
    folder = _folder(root)
    found = []
    for path in sorted(folder.glob("*.json"))[-MAX_RUNS:] if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            found.append((str(data["label"]), RunHistory.from_dict(data["run"], path.name)))
        except (OSError, ValueError, KeyError, TypeError, ProcrustesError):
            continue
    return found


def clear(root: Path) -> None:
    folder = _folder(root)
    for path in folder.glob("*.json") if folder.is_dir() else []:
        path.unlink(missing_ok=True)
