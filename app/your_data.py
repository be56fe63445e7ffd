"""Your own data on the app's pages: an upload (a CSV, a .csv.gz, an NPZ, or a zip of a folder of class
sub-folders of images) kept on the server for this browser under its content hash, its label column and
dropped columns chosen from the CSV's own columns, and the dataset picker's "your data (NAME)".

The server's path of the data is set here only, never from a link or a widget (``data_path`` is a
server field); a link names the data by their content hash (``data_hash``), and a link naming data
this server does not hold for this browser says so in one line. The caps of one upload
(``PROCRUSTES_MAX_DATA_MB``, ``_ZIP_MB``, ``_ZIP_FILES``, ``_CLASSES``) are operator settings, read with the
others in ``limits.py``.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import streamlit as st

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.data.uploaded import MB, StoredData, csv_columns, find_stored, store_upload
from procrustes_core.data.your_files import NAME
from procrustes_core.errors import shown, shown_path
from procrustes_core.training.jobs import JobView

from . import state, store
from .limits import Limits
from .uploads import read_uploads

KEY = "your_data"  # this session's upload in use (a StoredData)
CHOICE = "your_data_columns"  # its label and dropped columns, kept while another dataset is picked
MESSAGE = "your_data_message"  # why a link's data are not here, until the next upload
SUMMARY = "your_data_summary"  # (the config's query, its classes, training counts, test samples) or (query, refusal)
TYPES = ["csv", "gz", "npz", "zip"]
DEFAULT_DATASET = TrainConfig().dataset  # where a page falls back when your data are not here
CLEARED = {"data_path": None, "data_hash": None, "data_label": None, "data_drop": []}


def current() -> StoredData | None:
    """This session's uploaded data, if any (and still on the server)."""
    found = st.session_state.get(KEY)
    return found if isinstance(found, StoredData) and found.path.exists() else None


def picker_names(options: list[str]) -> list[str]:
    """The dataset picker's choices: the registry's, with your data once there is an upload."""
    return [*options, NAME] if current() is not None else options


def picker_label(name: str) -> str | None:
    """How the picker shows your data: "your data (NAME)"; None for any other dataset."""
    found = current()
    return f"your data ({found.name})" if name == NAME and found is not None else None


_DATA_PATH = re.compile(r"data_path=('[^']*'|\"[^\"]*\"|…?[^\s']*'?)")  # a server path as a message names it


def learner_text(message: str) -> str:
    """A message as a learner sees it: the server's path of uploaded data replaced by the upload's name
    ("pets.csv: line 3 …", as a refused upload reads), so no page shows where the server keeps a file."""
    found = current()
    name = found.name if found is not None else "your data"
    if found is not None:
        for text in (f"data_path={shown_path(found.path)}", shown_path(found.path), str(found.path)):
            message = message.replace(text, name)
        message = re.sub(r"'[^']*" + re.escape(found.path.name) + r"[^']*'", name, message)
    return _DATA_PATH.sub(name, message)


def learner_view(view: JobView | None) -> JobView | None:
    """A job as a learner sees it: each task's error and reason to stop in ``learner_text``."""
    if view is None or not any(t.error or t.stop_reason for t in view.job.tasks):
        return view
    tasks = tuple(replace(t, error=t.error and learner_text(t.error),
                          stop_reason=t.stop_reason and learner_text(t.stop_reason)) for t in view.job.tasks)
    return replace(view, job=replace(view.job, tasks=tasks))


def _first_label(found: StoredData) -> str | None:
    """A CSV's label until one is chosen: a column called label, target or class, else the last column."""
    return found.default_label or (found.columns[-1] if found.columns else None)


def _use(found: StoredData) -> None:
    """Train on a new upload from now on, with its natural imbalance."""
    st.session_state[KEY] = found
    st.session_state[CHOICE] = (_first_label(found), [])
    st.session_state.pop(MESSAGE, None)
    state.current().settings.update(dataset=NAME, profile="natural")


def _from_link(folder: Path) -> None:
    """A link's ``dataset=your-data&data_hash=H``: this browser's kept data of that hash, or one line."""
    settings = state.current().settings
    if settings["dataset"] != NAME or current() is not None:
        return
    wanted = str(settings.get("data_hash") or "")
    path = find_stored(folder, wanted)
    if path is None:
        st.session_state[MESSAGE] = (f"data_hash={shown(wanted[:16] + ('…' if len(wanted) > 16 else ''))}: this "
                                     "server holds no data of that hash for this browser (a link names your data, "
                                     "it never carries them) — upload the file to train on it")
        settings.update(dataset=DEFAULT_DATASET, **CLEARED)
        return
    try:
        columns = csv_columns(path.read_bytes(), "data") if path.is_file() and ".csv" in path.name else ()
    except (OSError, ProcrustesError):
        columns = ()
    form = "images" if path.is_dir() else "npz" if path.name.endswith(".npz") else "csv"
    found = StoredData(f"{path.name[:12]}…", path, path.name.split(".")[0], form, columns)
    st.session_state[KEY] = found
    drop = list(settings.get("data_drop") or [])
    st.session_state[CHOICE] = (settings.get("data_label") or _first_label(found), drop)


def _sync() -> None:
    """The settings of your data from this session's upload while your data are picked, else none."""
    settings = state.current().settings
    found = current()
    if settings["dataset"] != NAME or found is None:
        if settings["dataset"] == NAME:  # the upload expired from the server
            settings["dataset"] = DEFAULT_DATASET
        settings.update(CLEARED)
        return
    label, drop = st.session_state.get(CHOICE, (None, []))
    table = found.form == "csv"
    settings.update(data_path=str(found.path), data_hash=found.content_hash, data_label=label if table else None,
                    data_drop=list(drop) if table else [])


def _label_chosen() -> None:
    drop = [c for c in st.session_state.get(CHOICE, (None, []))[1] if c != st.session_state.w_your_label]
    st.session_state[CHOICE] = (st.session_state.w_your_label, drop)


def _drop_chosen() -> None:
    st.session_state[CHOICE] = (st.session_state[CHOICE][0], list(st.session_state.w_your_drop))


def _columns_box(box, found: StoredData) -> None:
    """The CSV's label column and the columns left out, chosen from its own columns."""
    label, drop = st.session_state.get(CHOICE, (None, []))
    columns = list(found.columns)
    st.session_state.w_your_label = label if label in columns else columns[-1]
    box.selectbox("Label column", columns, key="w_your_label", on_change=_label_chosen,
                  help="The column holding each row's class (text or numbers); the other columns are its features.")
    rest = [c for c in columns if c != st.session_state.w_your_label]
    st.session_state.w_your_drop = [c for c in drop if c in rest]
    box.multiselect("Leave out columns", rest, key="w_your_drop", on_change=_drop_chosen,
                    help="Identifiers or free text are not features: leave them out.")


def _what_it_holds(box) -> None:
    """Your data's classes, training samples and test samples per class, or the one line that refuses them."""
    from procrustes_core.data.datasets import class_names_for, counts_for, per_class_test_samples

    config = state.current().valid_config()
    if config is None:
        return
    key = config.to_query()  # read once per setting of the session: the server's pool cache is shared and small
    known = st.session_state.get(SUMMARY)
    if known is None or known[0] != key:
        try:
            known = (key, class_names_for(config), counts_for(config), per_class_test_samples(config))
        except ProcrustesError as err:  # named by the upload, never by the server's path
            known = (key, learner_text(str(err)))
        st.session_state[SUMMARY] = known
    if len(known) == 2:
        box.error(known[1])
        return
    names, counts, tests = known[1:]
    classes = ", ".join(f"{name} {count}" for name, count in zip(names, counts))
    box.caption(f"{len(names)} classes to train: {classes}. Test samples per class: "
                + ", ".join(f"{name} {n}" for name, n in zip(names, tests)) + " (a balanced test set).")


def sidebar_box(limits: Limits, show: bool = True) -> None:
    """The upload, its columns and what it holds, above the dataset picker; then the settings follow it."""
    folder = store.data_folder(limits.store_folder)
    _from_link(folder)
    box = st.sidebar
    if show and limits.ray_address:  # trainings run on other machines, which cannot read this one's store
        box.caption("Your own data: not on this server, which trains on a Ray cluster (use procrustes train "
                    "--data FILE on your machine).")
    elif show:
        caps = limits.upload_caps
        file = box.file_uploader(
            "Your data", type=TYPES, key="w_your_data", max_upload_size=max(1, caps.max_bytes // MB),
            help="A CSV (also .csv.gz) with a label column, an NPZ of arrays x and y, or a zip of a folder of class "
                 f"sub-folders of images (PNG, JPEG); up to {caps.max_bytes // MB} MB. It is kept on this server for "
                 "this browser only; a link names it by its content hash, never carries it.")
        found = read_uploads([file] if file is not None else [],
                             lambda data, name: store_upload(data, name, folder, caps),
                             st.session_state.setdefault("_your_data_uploads", {}), max_files=1,
                             max_total_bytes=caps.max_bytes, max_file_bytes=caps.max_bytes)
        if found and not found[0].ok:
            box.error(found[0].error)
        elif found and (current() is None or current().content_hash != found[0].value.content_hash):
            _use(replace(found[0].value, name=found[0].name))
            _touch(folder)
        if st.session_state.get(MESSAGE):
            box.warning(st.session_state[MESSAGE])
    _sync()
    chosen = current()
    if show and chosen is not None and state.current().settings["dataset"] == NAME:
        if chosen.form == "csv" and chosen.columns:
            _columns_box(box, chosen)
            _sync()
        _what_it_holds(box)


def _touch(folder: Path) -> None:
    """The browser's folder counts as used now (the store expires folders unused for long)."""
    try:
        os.utime(folder.parent)
    except OSError:
        pass


def natural_ratio_note(config) -> None:
    """On a page that varies the ratio: say that data kept at their natural imbalance ignore it."""
    if config is not None and config.profile == "natural":
        st.info("The data keep their natural imbalance (profile natural), so every ratio here trains the same "
                "data: choose a step or long-tailed profile in the sidebar to subsample them to each ratio.")
