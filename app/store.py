"""Each browser's finished runs, kept on the server so a reload or a new tab still lists them.

A browser is known by a random id in a cookie (``procrustes_browser``), set the first time a page is
shown; its runs are JSON files under ``PROCRUSTES_RUN_STORE/<id>/``, written atomically, at most
``MAX_RUNS`` per browser (the oldest go first). Without cookies the runs live as long as the session.
The data a browser uploads are kept beside its runs (``data_folder``), named by their content hash.

The whole store is bounded (``tidy``): a browser's folder unused for ``PROCRUSTES_RUN_STORE_DAYS`` is
deleted, and past ``PROCRUSTES_RUN_STORE_MB`` the least recently used browsers' folders go first (a
folder's modification time is its last use: reading or adding runs touches it). At start-up
(``prepare``) the temporary files of writes (and zips' unpacking) killed part-way are removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import time
import uuid
from pathlib import Path

import streamlit as st

from procrustes_core import ProcrustesError, RunHistory
from procrustes_core.data.uploaded import UNPACK_PREFIX
from procrustes_core.files import TEMP_SUFFIX, atomic_write_text

COOKIE = "procrustes_browser"
MAX_RUNS = 60
DATA = "data"  # a browser's uploaded data (``data_folder``)
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


def save(root: Path, label: str, history: RunHistory, max_bytes: int | None = None,
         max_idle_seconds: float | None = None) -> None:
    """Keep a finished run (a failure to write only costs the run's survival of a reload), then bound
    the whole store (``tidy``) when a cap is given."""
    folder = _folder(root)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}.json"
        # the run as its own JSON writes it (a diverged run's infinities as null), so it reads back
        atomic_write_text(folder / name, f'{{"label": {json.dumps(label)}, "run": {history.to_json()}}}', "run store")
        files = sorted(folder.glob("*.json"))
        for old in files[:-MAX_RUNS]:
            old.unlink(missing_ok=True)
        os.utime(folder)
    except (OSError, ProcrustesError):
        pass
    if max_bytes is not None or max_idle_seconds is not None:
        tidy(root, max_bytes, max_idle_seconds, keep=folder.name)


def _browser_folders(root: Path) -> list[tuple[float, int, Path]]:
    """Every browser's folder in the store: (last use, bytes held, folder), least recently used first.
    Only real folders named as ids count: a link or a stray file is never followed or deleted."""
    found = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    for entry in entries:
        try:
            if not _ID.match(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            used = entry.stat(follow_symlinks=False).st_mtime
            size = _bytes_held(entry.path)
        except OSError:
            continue
        found.append((used, size, Path(entry.path)))
    return sorted(found, key=lambda row: (row[0], row[2].name))


def _bytes_held(folder: str) -> int:
    """Bytes of the regular files in a browser's folder, its uploaded data included (links not followed)."""
    total = 0
    for base, _dirs, files in os.walk(folder):  # os.walk never follows links to folders
        for name in files:
            with contextlib.suppress(OSError):
                info = os.lstat(os.path.join(base, name))
                total += info.st_size if stat.S_ISREG(info.st_mode) else 0
    return total


def data_folder(root: Path) -> Path:
    """Where this browser's uploaded data are kept (``DATA``, beside its runs, bounded and expired with them)."""
    return _folder(root) / DATA


def tidy(root: Path, max_bytes: int | None, max_idle_seconds: float | None, keep: str | None = None,
         now: float | None = None) -> list[str]:
    """Delete the folders of browsers unused for ``max_idle_seconds``, then, while the store holds more
    than ``max_bytes``, the least recently used browsers' folders (``keep``'s last, and of it only its
    oldest runs, never its newest). Returns the ids deleted whole."""
    now = time.time() if now is None else now
    removed, total, kept = [], 0, None
    for used, size, folder in _browser_folders(root):
        if max_idle_seconds is not None and now - used > max_idle_seconds and folder.name != keep:
            removed.append(folder.name)
            shutil.rmtree(folder, ignore_errors=True)
            continue
        total += size
    if max_bytes is None or total <= max_bytes:
        return removed
    for _, size, folder in _browser_folders(root):
        if total <= max_bytes:
            break
        if folder.name == keep:
            kept = folder
            continue
        removed.append(folder.name)
        shutil.rmtree(folder, ignore_errors=True)
        total -= size
    if kept is not None and total > max_bytes:
        for old in sorted(kept.glob("*.json"))[:-1]:
            if total <= max_bytes:
                break
            try:
                total -= old.stat().st_size
                old.unlink()
            except OSError:
                continue
    return removed


def prepare(root: Path, max_bytes: int | None = None, max_idle_seconds: float | None = None,
            stale_seconds: float = 60.0, now: float | None = None) -> None:
    """At start-up: remove the temporary files of writes killed part-way (older than ``stale_seconds``,
    so a write under way elsewhere is left alone) and expired browsers' runs."""
    now = time.time() if now is None else now
    for _, _, folder in _browser_folders(root):
        for stale in (folder / DATA).glob(f"{UNPACK_PREFIX}*"):  # a zip's unpacking cut short
            with contextlib.suppress(OSError):
                if stale.is_dir() and not stale.is_symlink() and now - stale.lstat().st_mtime > stale_seconds:
                    shutil.rmtree(stale, ignore_errors=True)
        for stale in [*folder.glob(f".*{TEMP_SUFFIX}"), *(folder / DATA).glob(f".*{TEMP_SUFFIX}")]:
            try:
                info = stale.lstat()
                if stat.S_ISREG(info.st_mode) and now - info.st_mtime > stale_seconds:
                    stale.unlink()
            except OSError:
                continue
    tidy(root, max_bytes, max_idle_seconds, now=now)


def load(root: Path) -> list[tuple[str, RunHistory]]:
    """This browser's kept runs, oldest first (files that do not read as runs are skipped)."""
    folder = _folder(root)
    found = []
    try:
        if folder.is_dir():
            os.utime(folder)  # a browser that looks at its runs still uses them
    except OSError:
        pass
    read = st.session_state.setdefault("_store_read", {})  # file name → (its stamp, label, run): read once
    paths = sorted(folder.glob("*.json"))[-MAX_RUNS:] if folder.is_dir() else []
    for path in paths:
        try:
            info = path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
            if path.name not in read or read[path.name][0] != stamp:
                data = json.loads(path.read_text(encoding="utf-8"))
                read[path.name] = (stamp, str(data["label"]), RunHistory.from_dict(data["run"], path.name))
            found.append(read[path.name][1:])
        except (OSError, ValueError, KeyError, TypeError, ProcrustesError):
            continue
    for name in set(read) - {p.name for p in paths}:
        del read[name]
    return found


def caps(limits) -> dict[str, float]:
    """The store's bounds from the server's settings, as ``save``, ``tidy`` and ``prepare`` take them."""
    return {"max_bytes": limits.run_store_mb * 1_000_000, "max_idle_seconds": limits.run_store_days * 86_400}


@st.cache_resource(show_spinner=False)
def prepare_once(root: str, max_bytes: int, max_idle_seconds: float) -> bool:
    """``prepare`` the store once per server process (the first page shown)."""
    prepare(Path(root), max_bytes, max_idle_seconds)
    return True


def clear(root: Path) -> None:
    folder = _folder(root)
    for path in folder.glob("*.json") if folder.is_dir() else []:
        path.unlink(missing_ok=True)
