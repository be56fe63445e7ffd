"""A learner's uploaded file checked and kept on the server: a CSV (.csv, .csv.gz), an NPZ, or a zip of
an image folder, parsed without executing anything and stored under a name that is its content hash
(never a name or path from the upload). No torch.

A zip is unpacked member by member into a temporary folder beside the store, refusing paths outside
the folder (``../``), absolute paths, links, encrypted members, more members, bytes or classes than the
caps (a zip bomb is refused before a byte is unpacked, and its members are read no further than their
declared sizes); the folder is moved into place only once its images read as a dataset. Every refusal
is one ``ProcrustesError`` line naming the upload and what is wrong, and nothing is left on disk.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import ProcrustesError, shown
from ..files import atomic_write_bytes
from .images import IMAGE_SUFFIXES, read_image_folder
from .split import MAX_CLASSES
from .tables import LABEL_NAMES, ZIP_ERRORS, parse_npz

UNPACK_PREFIX = ".unpack-"  # a zip being unpacked: removed if the server stopped part-way
CHUNK = 1 << 20
MB = 1_000_000


@dataclass(frozen=True)
class UploadCaps:
    """What one upload may hold (operator settings)."""

    max_bytes: int = 200 * MB  # the uploaded file itself
    max_unpacked_bytes: int = 1000 * MB  # a zip's members, unpacked, all together
    max_members: int = 20_000  # a zip's members (files and folders)
    max_classes: int = MAX_CLASSES  # a zip's class sub-folders


@dataclass(frozen=True)
class StoredData:
    """An upload that was checked and kept: where it lies on the server and what it holds."""

    name: str  # the upload's file name, as pages show it
    path: Path  # a file or folder named by its content hash, under the store
    content_hash: str  # the SHA-256 a link names it by (``data_hash``)
    form: str  # "csv", "npz" or "images"
    columns: tuple[str, ...] = ()  # a CSV's columns, in order

    @property
    def default_label(self) -> str | None:
        """The CSV column taken as the label when none is chosen: one called label, target or class."""
        return next((c for c in self.columns if c.strip().lower() in LABEL_NAMES), None)


def upload_form(name: str) -> str:
    """What an upload holds, by its file name: ``csv``, ``npz`` or ``images`` (a zip), or one line."""
    lower = name.lower()
    if lower.endswith((".csv", ".csv.gz", ".txt", ".gz")):
        return "csv"
    if lower.endswith(".npz"):
        return "npz"
    if lower.endswith(".zip"):
        return "images"
    raise ProcrustesError(f"{shown(name, 80, quote=False)}: expected a .csv, .csv.gz or .npz file, or a .zip of a "
                          "folder of class sub-folders of images")


def store_upload(data: bytes, name: str, folder: Path, caps: UploadCaps = UploadCaps()) -> StoredData:
    """Check an upload and keep it in ``folder`` under its content hash (an upload already kept is not
    written again); or one ``ProcrustesError`` line, with nothing written."""
    where = shown(name, 80, quote=False) or "(no name)"
    if len(data) > caps.max_bytes:
        raise ProcrustesError(f"{where}: {len(data) / MB:.1f} MB, more than the {caps.max_bytes / MB:g} MB an upload "
                              "may hold on this server (PROCRUSTES_MAX_DATA_MB)")
    form = upload_form(name)
    if not data:
        raise ProcrustesError(f"{where}: empty file")
    if form == "images":
        return _store_images(data, where, folder, caps)
    digest = hashlib.sha256(data).hexdigest()
    gz = data[:2] == b"\x1f\x8b"
    if form == "npz":
        parse_npz(data, where)
        suffix, columns = ".npz", ()
    else:
        columns = csv_columns(data, where, gz)
        suffix = ".csv.gz" if gz else ".csv"
    target = folder / f"{digest}{suffix}"
    if not target.is_file():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ProcrustesError(f"{where}: cannot be kept on this server ({err.strerror or err})") from None
        atomic_write_bytes(target, data, "upload")
    return StoredData(where, target, digest, form, columns)


def csv_columns(data: bytes, where: str, gz: bool = False) -> tuple[str, ...]:
    """A CSV's columns, once the whole table reads (not ragged, not empty); or one line."""
    from .tables import _read_frame, _text, _unpacked

    columns = tuple(_read_frame(_text(_unpacked(data, where, gz), where), where).columns)
    if len(columns) < 2:
        raise ProcrustesError(f"{where}: one column only; a CSV needs a label column and feature columns")
    return columns


def find_stored(folder: Path, content_hash: str) -> Path | None:
    """The kept upload named by ``content_hash`` (a hex text, at least 16 characters), or None."""
    text = str(content_hash or "").lower()
    if not 16 <= len(text) <= 64 or any(c not in "0123456789abcdef" for c in text):
        return None
    try:
        found = sorted(p for p in folder.iterdir() if p.name.startswith(text) and not p.is_symlink())
    except OSError:
        return None
    return found[0] if found else None


# ------------------------------------------------------------------ a zip of an image folder


def _member_path(info: zipfile.ZipInfo, where: str) -> PurePosixPath | None:
    """A member's path inside the folder, or None for one to skip; a dangerous one is one line."""
    raw = info.filename
    if not raw:  # a damaged entry with no name
        return None
    named = shown(raw, 80)
    if "\x00" in raw or "\\" in raw:
        raise ProcrustesError(f"{where}: member {named} has a backslash or NUL in its path")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise ProcrustesError(f"{where}: member {named} has an absolute path; a zip of a folder holds relative paths")
    parts = PurePosixPath(raw).parts
    if ".." in parts:
        raise ProcrustesError(f"{where}: member {named} points outside the folder ('..')")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ProcrustesError(f"{where}: member {named} is a symbolic link; links are never unpacked")
    if info.flag_bits & 0x1:
        raise ProcrustesError(f"{where}: member {named} is encrypted")
    if info.is_dir() or not parts or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
        return None
    if not parts[-1].lower().endswith(IMAGE_SUFFIXES):
        return None
    return PurePosixPath(*parts)


def _planned(archive: zipfile.ZipFile, where: str, caps: UploadCaps) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """The members to unpack and where (a common top folder taken off), after every cap is checked."""
    infos = archive.infolist()
    if len(infos) > caps.max_members:
        raise ProcrustesError(f"{where}: {len(infos):,} members, more than the {caps.max_members:,} a zip may hold "
                              "here (PROCRUSTES_MAX_ZIP_FILES)")
    declared = sum(info.file_size for info in infos)
    if declared > caps.max_unpacked_bytes:
        raise ProcrustesError(f"{where}: unpacks to {declared / MB:,.0f} MB, more than the "
                              f"{caps.max_unpacked_bytes / MB:g} MB allowed here (PROCRUSTES_MAX_ZIP_MB)")
    planned = [(info, path) for info in infos if (path := _member_path(info, where)) is not None]
    if not planned:
        raise ProcrustesError(f"{where}: no PNG or JPEG images (expected a zip of FOLDER/CLASS/IMAGE.png)")
    tops = {path.parts[0] for _, path in planned}
    if len(tops) == 1 and all(len(path.parts) >= 3 for _, path in planned):  # FOLDER/CLASS/IMAGE: drop FOLDER
        planned = [(info, PurePosixPath(*path.parts[1:])) for info, path in planned]
    loose = next((path for _, path in planned if len(path.parts) < 2), None)
    if loose is not None:
        raise ProcrustesError(f"{where}: image {shown(str(loose), 60)} is in no class folder (expected "
                              "FOLDER/CLASS/IMAGE.png)")
    classes = {path.parts[0] for _, path in planned}
    if len(classes) > caps.max_classes:
        raise ProcrustesError(f"{where}: {len(classes)} class folders, at most {caps.max_classes} classes")
    if len(classes) < 2:
        raise ProcrustesError(f"{where}: one class only ({shown(classes.pop())}); a classifier needs at least 2 "
                              "class folders")
    return planned


def _unpack(archive: zipfile.ZipFile, planned, into: Path, where: str, caps: UploadCaps) -> None:
    written = 0
    for info, path in planned:
        target = into.joinpath(*path.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as source, open(target, "xb") as out:  # "x": never through an existing file
            while chunk := source.read(CHUNK):
                written += len(chunk)
                if written > caps.max_unpacked_bytes:
                    raise ProcrustesError(f"{where}: unpacks to more than {caps.max_unpacked_bytes / MB:g} MB "
                                          "(PROCRUSTES_MAX_ZIP_MB)")
                out.write(chunk)


def _store_images(data: bytes, where: str, folder: Path, caps: UploadCaps) -> StoredData:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (*ZIP_ERRORS, ValueError) as err:
        raise ProcrustesError(f"{where}: not a readable zip ({shown(str(err), 60, quote=False)})") from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(prefix=UNPACK_PREFIX, dir=folder))
    except OSError as err:
        archive.close()
        raise ProcrustesError(f"{where}: cannot be kept on this server ({err.strerror or err})") from None
    try:
        with archive:
            planned = _planned(archive, where, caps)
            try:
                _unpack(archive, planned, temp, where, caps)
            except ProcrustesError:
                raise
            except OSError as err:  # writing here failed (a damaged member raises the errors below)
                raise ProcrustesError(f"{where}: cannot be unpacked here ({err.strerror or err})") from None
            except (*ZIP_ERRORS, ValueError) as err:
                raise ProcrustesError(f"{where}: a member cannot be unpacked ({shown(str(err), 60, quote=False)})"
                                      ) from None
        _x, _labels, _names, digest = read_image_folder(temp, where)
        target = folder / digest
        if target.is_dir():
            return StoredData(where, target, digest, "images")
        try:
            os.rename(temp, target)
        except OSError as err:
            if target.is_dir():  # the same images kept meanwhile by another tab
                return StoredData(where, target, digest, "images")
            raise ProcrustesError(f"{where}: cannot be kept on this server ({err.strerror or err})") from None
        return StoredData(where, target, digest, "images")
    finally:
        shutil.rmtree(temp, ignore_errors=True)
