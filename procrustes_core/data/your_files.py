"""Reading your own data into a pool, the loader of the registry's ``your-data`` dataset: a CSV (.csv,
.csv.gz), an NPZ of arrays ``x`` and ``y``, or a folder of class sub-folders of images, named by a
content hash. No torch.

Every refusal is one line naming the file and what is wrong (``tables.py``, ``images.py``); nothing is
written. ``yours.py`` has the lessons' and scripts' way in (``load_your_data``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..errors import ProcrustesError, shown, shown_path
from ..files import read_limited
from .loaders import Pool
from .split import label_codes, labelled_pool

MAX_FILE_BYTES = 2**30  # a CSV or NPZ read from disk (the app caps uploads itself)
TABLE_SUFFIXES = (".csv", ".csv.gz", ".gz", ".txt")
NAME = "your-data"


def _path(path: Any) -> Path:
    if path is None:
        raise ProcrustesError("data_path=None: dataset 'your-data' reads a CSV, an NPZ or an image folder; give "
                              "--data PATH (data_path)")
    text = str(path)
    if "\x00" in text:
        raise ProcrustesError(f"data_path={shown_path(text)}: a path cannot hold a NUL character")
    found = Path(text).expanduser()
    try:
        exists = found.exists()
    except OSError as err:
        raise ProcrustesError(f"data_path={shown_path(text)}: cannot be read ({err.strerror or err})") from None
    if not exists:
        raise ProcrustesError(f"data_path={shown_path(text)}: no such file or folder")
    return found


def parse_file(path: Any, label: str | None = None, drop: tuple[str, ...] = ()):
    """The features, labels, kind and content hash of a file or folder (no split, no scaling)."""
    from .tables import parse_csv, parse_npz

    found = _path(path)
    where = f"data_path={shown_path(str(path))}"
    table = not found.is_dir() and found.name.lower().endswith(TABLE_SUFFIXES)
    if (label is not None or drop) and not table:
        setting = "data_label" if label is not None else "data_drop"
        raise ProcrustesError(f"{where}: {setting} names a CSV column; an NPZ or an image folder has none")
    if found.is_dir():
        from .images import read_image_folder

        x, labels, _names, digest = read_image_folder(found, where)
        return x, labels, "image", digest
    name = found.name.lower()
    if name.endswith(".npz"):
        data = read_limited(found, "data_path", MAX_FILE_BYTES)
        parsed = parse_npz(data, where)
    elif name.endswith(TABLE_SUFFIXES):
        data = read_limited(found, "data_path", MAX_FILE_BYTES)
        parsed = parse_csv(data, where, label, tuple(drop), gz=data[:2] == b"\x1f\x8b")
    else:
        raise ProcrustesError(f"{where}: expected a .csv, .csv.gz or .npz file, or a folder of class sub-folders "
                              "of images")
    return parsed.x, parsed.labels, parsed.kind, hashlib.sha256(data).hexdigest()


def your_pool(options: Any) -> Pool:
    """The registry's loader of ``your-data``: the file at ``options.data_path``, split and standardised."""
    x, labels, kind, digest = parse_file(options.data_path, options.data_label, tuple(options.data_drop))
    where = f"data_path={shown_path(str(options.data_path))}"
    wanted = options.data_hash
    if wanted and not digest.startswith(wanted):
        raise ProcrustesError(f"data_hash={shown(wanted)}: the data at {where} have hash {digest[:16]}… (another "
                              "file, or it changed)")
    codes, names = label_codes(labels, where)
    pool = labelled_pool(NAME, x, codes, names, kind)
    pool.content_hash = digest
    return pool


def data_hash(path: Any) -> str:
    """The SHA-256 a file's (or an image folder's) content is named by — what a link carries instead of
    its path."""
    found = _path(path)
    if found.is_dir():
        from .images import read_image_folder

        return read_image_folder(found, f"data_path={shown_path(str(path))}")[3]
    return hashlib.sha256(read_limited(found, "data_path", MAX_FILE_BYTES)).hexdigest()


def path_kind(path: Any) -> str:
    """What a your-data path holds, known without reading its samples: ``image`` (a folder of images, or an
    NPZ whose ``x`` is laid out as pictures), ``signal``, ``vector`` (a CSV, or an NPZ table); "" when it
    cannot be told (no path, or a file that does not read: the loader names what is wrong)."""
    if path is None:
        return ""
    try:
        found = Path(str(path)).expanduser()
        if found.is_dir():
            return "image"
        name = found.name.lower()
        if name.endswith(TABLE_SUFFIXES):
            return "vector"
        if name.endswith(".npz") and found.is_file():
            return _npz_kind(found)
    except (OSError, ValueError):
        pass
    return ""


def _npz_kind(path: Path) -> str:
    """The kind of an NPZ's ``x`` from its array header alone (nothing unpickled, no sample read)."""
    import zipfile

    import numpy as np

    from .tables import MAX_SIGNAL_CHANNELS

    try:
        with zipfile.ZipFile(path) as archive, archive.open("x.npy") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape = read_header(handle)[0]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, SyntaxError, TypeError):
        return ""
    if len(shape) == 2:
        return "vector"
    if len(shape) == 3:
        return "signal" if shape[1] <= MAX_SIGNAL_CHANNELS else "image"
    return "image" if len(shape) == 4 else ""
