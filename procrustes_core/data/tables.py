"""Parsing a learner's CSV (also gzip-compressed) and NPZ files into features and labels, refusing
what cannot be trained on in one line that names the file and what is wrong. No torch; nothing is
executed or unpickled: the CSV is text, the NPZ's arrays are read with ``allow_pickle=False``.

A CSV: one header line, then one row per sample; a label column of any type (strings become class
names); numeric feature columns as they are, text columns with at most ``MAX_CATEGORIES`` distinct
values one-hot encoded, text columns with more (free text, identifiers) refused unless dropped.
An NPZ: arrays ``x`` (one sample per row: ``(n, features)`` a table, ``(n, channels, length)`` with at
most ``MAX_SIGNAL_CHANNELS`` channels sequences, ``(n, height, width)`` or ``(n, channels, height,
width)`` images) and ``y`` (``n`` labels of any non-object type).
"""

from __future__ import annotations

import gzip
import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import ProcrustesError, shown

MAX_UNPACKED = 2**31  # bytes a .gz or an NPZ may unpack to (a small file that unpacks to more is refused)
MAX_CATEGORIES = 20  # distinct values of a text column that is one-hot encoded
MAX_SIGNAL_CHANNELS = 4  # x of shape (n, c, L) with c at most this: sequences; more: grey images (n, H, W)
LABEL_NAMES = ("label", "target", "class")  # the label column when none is named
# what reading a damaged zip (an NPZ, a zip of images) or gzip stream may raise, besides ValueError
ZIP_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, KeyError,
              OverflowError, struct.error)


@dataclass
class Parsed:
    """Features, one label per sample, and what the features are."""

    x: np.ndarray  # float32, (n, ...) as the file holds them
    labels: np.ndarray  # any type; class names are their text
    kind: str  # "vector", "signal" or "image"
    columns: list[str]  # feature names (a CSV's columns after one-hot encoding), else empty


def _unpacked(data: bytes, where: str, gz: bool) -> bytes:
    if not gz:
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            out = handle.read(MAX_UNPACKED + 1)
    except ZIP_ERRORS as err:
        raise ProcrustesError(f"{where}: not a readable gzip file ({shown(str(err), 80, quote=False)})") from None
    if len(out) > MAX_UNPACKED:
        raise ProcrustesError(f"{where}: unpacks to more than {MAX_UNPACKED // 2**20} MiB")
    return out


def _text(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ProcrustesError(f"{where}: not UTF-8 text (byte {err.object[err.start]:#04x} at position "
                              f"{err.start})") from None


def _read_frame(text: str, where: str):
    import pandas as pd

    if not text.strip():
        raise ProcrustesError(f"{where}: empty file")
    try:
        frame = pd.read_csv(io.StringIO(text), skipinitialspace=True, on_bad_lines="error", low_memory=False)
    except pd.errors.EmptyDataError:
        raise ProcrustesError(f"{where}: empty file") from None
    except pd.errors.ParserError as err:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        if found:
            expected, line, saw = found.groups()
            raise ProcrustesError(f"{where}: a ragged table: line {line} has {saw} fields, the header has "
                                  f"{expected}") from None
        raise ProcrustesError(f"{where}: not a readable CSV ({shown(str(err).strip(), 80, quote=False)})") from None
    except (ValueError, OverflowError, MemoryError) as err:
        raise ProcrustesError(f"{where}: not a readable CSV ({shown(str(err).strip(), 80, quote=False)})") from None
    if len(frame) == 0:
        raise ProcrustesError(f"{where}: a header but no rows")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _first_bad(values: np.ndarray) -> tuple[int, str] | None:
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    row = int(np.argmax(bad))
    return row, "no value (an empty field, or a row shorter than the header)" if np.isnan(values[row]) else \
        "an infinite value"


def _column_features(frame, name: str, where: str) -> tuple[np.ndarray, list[str]]:
    """One column as feature columns: numbers as they are, a few categories one-hot; else one line."""
    import pandas as pd

    column = frame[name]
    if column.dtype == bool:
        column = column.astype(np.float64)
    if pd.api.types.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = _first_bad(values)
        if bad:
            raise ProcrustesError(f"{where}: line {bad[0] + 2}, column {shown(name)}: {bad[1]}")
        return values[:, None], [name]
    filled = column.notna().to_numpy()
    if not filled.all():
        raise ProcrustesError(f"{where}: line {int(np.argmin(filled)) + 2}, column {shown(name)}: no value (an "
                              "empty field, or a row shorter than the header)")
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.notna().mean() >= 0.9:  # a column of numbers with a stray word: name the word
        row = int(np.argmax(numbers.isna().to_numpy()))
        raise ProcrustesError(f"{where}: line {row + 2}, column {shown(name)}: {shown(str(column.iloc[row]))} is "
                              "not a number")
    text = column.astype(str)
    categories = sorted(text.unique())
    if len(categories) > MAX_CATEGORIES:
        raise ProcrustesError(f"{where}: column {shown(name)} holds text with {len(categories)} distinct values "
                              f"(free text or identifiers; at most {MAX_CATEGORIES} are one-hot encoded): drop it "
                              f"with --drop {shown(name, quote=False)} (data_drop)")
    onehot = (text.to_numpy()[:, None] == np.asarray(categories, dtype=object)[None, :]).astype(np.float64)
    return onehot, [f"{name}={c}" for c in categories]


def parse_csv(data: bytes, where: str, label: str | None = None, drop: tuple[str, ...] = (),
              gz: bool = False) -> Parsed:
    """A CSV's features and labels (see the module's docstring), or one line naming what is wrong."""
    frame = _read_frame(_text(_unpacked(data, where, gz), where), where)
    columns = list(frame.columns)
    for name in drop:
        if name not in columns:
            raise ProcrustesError(f"{where}: data_drop={shown(name)}: no such column (columns: "
                                  f"{shown(', '.join(columns), 200, quote=False)})")
    if label is None:
        named = [c for c in columns if c.strip().lower() in LABEL_NAMES]
        if not named:
            listed = shown(", ".join(columns), 200, quote=False)
            raise ProcrustesError(f"{where}: no label column: name one with --label COLUMN (data_label) — none is "
                                  f"called {', '.join(LABEL_NAMES)} (columns: {listed})")
        label = named[0]
    elif label not in columns:
        raise ProcrustesError(f"{where}: data_label={shown(label)}: no such column (columns: "
                              f"{shown(', '.join(columns), 200, quote=False)})")
    labels = frame[label]
    missing = labels.isna().to_numpy()
    if missing.any():
        raise ProcrustesError(f"{where}: line {int(np.argmax(missing)) + 2}, label column {shown(label)}: no value")
    features = [c for c in columns if c != label and c not in drop]
    if not features:
        raise ProcrustesError(f"{where}: no feature columns beside the label {shown(label)}")
    blocks, names = [], []
    for name in features:
        block, block_names = _column_features(frame, name, where)
        blocks.append(block)
        names += block_names
    x = np.concatenate(blocks, axis=1).astype(np.float32)
    if not np.isfinite(x).all():  # a number beyond float32's range
        row, col = (int(i) for i in np.argwhere(~np.isfinite(x))[0])
        raise ProcrustesError(f"{where}: line {row + 2}, column {shown(names[col])}: too large for a 32-bit float")
    values = labels.to_numpy()
    if values.dtype == object:
        values = values.astype(str)
    return Parsed(x, values, "vector", names)


# ------------------------------------------------------------------ NPZ


def _array(arrays, key: str, where: str) -> np.ndarray:
    try:
        return arrays[key]
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise ProcrustesError(f"{where}: array {key!r} holds Python objects, which are never unpickled; save "
                                  "numbers (x) and numbers or text (y)") from None
        raise ProcrustesError(f"{where}: array {key!r} cannot be read ({shown(str(err), 80, quote=False)})") from None
    except ZIP_ERRORS as err:
        raise ProcrustesError(f"{where}: array {key!r} cannot be read ({shown(str(err), 80, quote=False)})") from None


def _image_layout(x: np.ndarray) -> tuple[np.ndarray, str]:
    if x.ndim == 2:
        return x, "vector"
    if x.ndim == 3:
        return (x, "signal") if x.shape[1] <= MAX_SIGNAL_CHANNELS else (x[:, None], "image")
    if x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):  # channels last, as pictures are saved
        x = np.moveaxis(x, -1, 1)
    return x, "image"


def parse_npz(data: bytes, where: str) -> Parsed:
    """An NPZ's ``x`` and ``y`` (see the module's docstring), or one line naming what is wrong."""
    if not data:
        raise ProcrustesError(f"{where}: empty file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (*ZIP_ERRORS, ValueError) as err:
        raise ProcrustesError(f"{where}: not an NPZ file (a zip of .npy arrays: {shown(str(err), 60, quote=False)})"
                              ) from None
    if unpacked > MAX_UNPACKED:
        raise ProcrustesError(f"{where}: its arrays unpack to more than {MAX_UNPACKED // 2**20} MiB")
    try:
        arrays = np.load(io.BytesIO(data), allow_pickle=False)
    except (*ZIP_ERRORS, ValueError) as err:
        raise ProcrustesError(f"{where}: not an NPZ file ({shown(str(err), 80, quote=False)})") from None
    if not hasattr(arrays, "files"):
        raise ProcrustesError(f"{where}: one array, not an NPZ of arrays x and y (np.savez(path, x=..., y=...))")
    with arrays:
        missing = [key for key in ("x", "y") if key not in arrays.files]
        if missing:
            raise ProcrustesError(f"{where}: no array {' or '.join(missing)} (arrays: "
                                  f"{shown(', '.join(arrays.files) or 'none', 120, quote=False)}); save "
                                  "np.savez(path, x=features, y=labels)")
        x, y = _array(arrays, "x", where), _array(arrays, "y", where)
    if x.dtype.kind not in "biuf":
        raise ProcrustesError(f"{where}: array 'x' holds {x.dtype} values, expected numbers")
    if y.dtype.kind not in "biufUS":
        raise ProcrustesError(f"{where}: array 'y' holds {y.dtype} values, expected numbers or text")
    if not 2 <= x.ndim <= 4 or min(x.shape) == 0:
        raise ProcrustesError(f"{where}: array 'x' has shape {x.shape}, expected one sample per row: (n, features), "
                              "(n, channels, length), (n, height, width) or (n, channels, height, width)")
    if y.ndim != 1 or len(y) != len(x):
        raise ProcrustesError(f"{where}: array 'y' has shape {y.shape}, expected one label per sample of x "
                              f"({len(x)},)")
    x = x.astype(np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        what = "NaN" if np.isnan(x[at]) else "infinite (or too large for a 32-bit float)"
        raise ProcrustesError(f"{where}: x[{', '.join(map(str, at))}] (sample {at[0]}) is {what}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ProcrustesError(f"{where}: y[{int(np.argmax(~np.isfinite(y)))}] is not a finite label")
    if y.dtype.kind == "S":
        y = np.char.decode(y, "utf-8", errors="replace")
    x, kind = _image_layout(x)
    return Parsed(np.ascontiguousarray(x), y, kind, [])
