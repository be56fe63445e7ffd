"""Safe file reads and writes: bounded reads, output paths checked before any work, and atomic
writes (a temporary file in the same folder, then a rename). Every ``OSError`` becomes one line."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from .errors import ProcrustesError, shown_path

NAME_MAX = 255  # bytes of one file name on the usual file systems
TEMP_SUFFIX = ".tmp"


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def read_limited(path: str | os.PathLike, what: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or one-line ``ProcrustesError``."""
    path = Path(_path_text(path, what))
    try:
        with open(path, "rb") as handle:
            regular = stat.S_ISREG(os.fstat(handle.fileno()).st_mode)
            data = handle.read(limit + 1) if regular else b""  # a FIFO or /dev/zero may never end
    except FileNotFoundError:
        raise ProcrustesError(f"{what}={shown_path(path)}: no such file") from None
    except IsADirectoryError:
        raise ProcrustesError(f"{what}={shown_path(path)}: is a folder, expected a file") from None
    except (OSError, ValueError) as err:  # ValueError: a NUL in the path
        reason = _reason(err) if isinstance(err, OSError) else "not a valid path"
        raise ProcrustesError(f"{what}={shown_path(path)}: cannot be read ({reason})") from None
    if not regular:
        raise ProcrustesError(f"{what}={shown_path(path)}: not a regular file")
    if len(data) > limit:
        raise ProcrustesError(f"{what}={shown_path(path)}: larger than {limit // 2**20} MiB")
    return data


def check_output_file(path: str | os.PathLike, what: str = "out") -> Path:
    """Raise unless a file can be written at ``path`` (its folder exists and takes new files), so
    that a bad ``--out`` fails before training, not after it."""
    text = _path_text(path, what)
    target = Path(text)
    if len(os.fsencode(target.name)) > NAME_MAX:  # before any stat: that would raise ENAMETOOLONG
        raise ProcrustesError(f"{what}={shown_path(text)}: file name longer than {NAME_MAX} bytes")
    if text.endswith(os.sep) or _is(target, "dir"):
        raise ProcrustesError(f"{what}={shown_path(text)}: is a folder, expected a file name")
    check_writable_folder(target.parent if str(target.parent) else Path("."), what, text)
    return target


def check_output_folder(path: str | os.PathLike, what: str = "out_dir") -> Path:
    """Raise unless ``path`` is a folder that takes new files, or can be made one (its parent exists)."""
    text = _path_text(path, what)
    folder = Path(text)
    if any(len(os.fsencode(part)) > NAME_MAX for part in folder.parts):
        raise ProcrustesError(f"{what}={shown_path(text)}: a folder name longer than {NAME_MAX} bytes")
    if _is(folder, "exists") and not _is(folder, "dir"):
        raise ProcrustesError(f"{what}={shown_path(text)}: is a file, expected a folder")
    check_writable_folder(folder if _is(folder, "dir") else folder.parent, what, text)
    return folder


def check_writable_folder(folder: Path, what: str, text: str) -> None:
    """Raise unless ``folder`` exists and a file can be created in it (tried: permissions, read-only
    mounts and ACLs all show)."""
    if not _is(folder, "exists"):
        raise ProcrustesError(f"{what}={shown_path(text)}: folder {shown_path(folder)} does not exist")
    if not _is(folder, "dir"):
        raise ProcrustesError(f"{what}={shown_path(text)}: {shown_path(folder)} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".procrustes-probe-", suffix=TEMP_SUFFIX)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ProcrustesError(f"{what}={shown_path(text)}: folder {shown_path(folder)} is not writable "
                              f"({_reason(err)})") from None


def _is(path: Path, kind: str) -> bool:
    """``path.exists()`` / ``path.is_dir()`` that answer False where the path cannot be looked at
    (too long, a loop of links, no permission) instead of raising."""
    try:
        return path.is_dir() if kind == "dir" else path.exists()
    except OSError:
        return False


def _path_text(path: str | os.PathLike, what: str) -> str:
    try:
        text = os.fsdecode(os.fspath(path))
    except TypeError:
        raise ProcrustesError(f"{what}={shown_path(path)}: expected a path") from None
    if not text:
        raise ProcrustesError(f"{what}='': expected a path")
    if "\x00" in text:
        raise ProcrustesError(f"{what}={shown_path(text)}: a path cannot hold a NUL character")
    return text


def atomic_write_text(path: str | os.PathLike, text: str, what: str = "out") -> Path:
    """Write ``text`` (UTF-8) to ``path`` so that readers see the old file or the whole new one, never half."""
    return atomic_write_bytes(path, text.encode("utf-8"), what)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, what: str = "out") -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never half.

    A failure (no such folder, no permission, disk full) is a one-line ``ProcrustesError`` and leaves
    neither a partial file nor the temporary one."""
    path = Path(_path_text(path, what))
    folder = path.parent if str(path.parent) else Path(".")
    if not _is(folder, "dir"):
        raise ProcrustesError(f"{what}={shown_path(path)}: folder {shown_path(folder)} does not exist")
    try:
        # the temporary name stays short, so that a long final name still leaves room for it
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name[:40]}.", suffix=TEMP_SUFFIX)
    except OSError as err:
        raise ProcrustesError(f"{what}={shown_path(path)}: cannot be written ({_reason(err)})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
            handle.write(data)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise ProcrustesError(f"{what}={shown_path(path)}: cannot be written ({_reason(err)})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def remove_stale_temporaries(folder: Path) -> None:
    """Delete the temporary files an atomic write killed mid-way left behind (``.NAME.XXXX.tmp``)."""
    for stale in folder.glob(f".*{TEMP_SUFFIX}"):
        try:
            stale.unlink()
        except OSError:
            pass  # another process's, or already gone: harmless either way


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
