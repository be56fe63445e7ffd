"""Safe file reads and writes: bounded reads, output paths checked before any work, and atomic
writes (a temporary file in the same folder, then a rename). Every ``OSError`` becomes one line.

An output never replaces what is not a regular file (a device such as ``/dev/null``, a FIFO, a socket, a
folder), never one of its command's inputs, and its temporary file is created with an explicit mode
(the process umask is never changed: an app server writes from several threads)."""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from collections.abc import Iterable
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
    refuse_special(target, what)
    check_writable_folder(target.parent if str(target.parent) else Path("."), what, text)
    return target


def special_kind(path: str | os.PathLike) -> str | None:
    """What is at ``path`` if it exists and is not a regular file ('a folder', 'a device', 'a FIFO',
    'a socket'), else None (a regular file, nothing there, or a path that cannot be looked at)."""
    try:
        mode = os.stat(path).st_mode  # a link is judged by what it points at
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def refuse_special(path: str | os.PathLike, what: str) -> None:
    """Raise if something that is not a regular file (a device, FIFO, socket, folder) is at ``path``: an
    output must never replace it."""
    kind = special_kind(path)
    if kind is not None:
        raise ProcrustesError(f"{what}={shown_path(path)}: is {kind}, not a regular file; an output never "
                              "replaces one")


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file: the same resolved path, or the same inode (a hard link)."""
    try:
        if Path(a).resolve() == Path(b).resolve():
            return True
        first, second = os.stat(a), os.stat(b)
    except (OSError, ValueError, RuntimeError):
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def check_not_input(path: str | os.PathLike | None, what: str,
                    inputs: Iterable[tuple[str, str | os.PathLike | None]]) -> None:
    """Raise if output ``path`` is one of the command's inputs (``(name, path)`` pairs); a path of None
    (an output or input not asked for) is skipped. Writing it would replace what was read."""
    for name, source in inputs:
        if path is not None and source is not None and same_file(path, source):
            raise ProcrustesError(f"{what}={shown_path(path)}: is the {name} this command reads; write to "
                                  "another file")


def check_output_folder(path: str | os.PathLike, what: str = "out_dir") -> Path:
    """Raise unless ``path`` is a folder that takes new files, or can be made one (its parent exists)."""
    text = _path_text(path, what)
    folder = Path(text)
    if any(len(os.fsencode(part)) > NAME_MAX for part in folder.parts):
        raise ProcrustesError(f"{what}={shown_path(text)}: a folder name longer than {NAME_MAX} bytes")
    if _is(folder, "exists") and not _is(folder, "dir"):
        kind = special_kind(folder)
        raise ProcrustesError(f"{what}={shown_path(text)}: is {kind or 'a file'}, expected a folder")
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

    A failure (no such folder, no permission, disk full, something at ``path`` that is not a regular
    file) is a one-line ``ProcrustesError`` and leaves neither a partial file nor the temporary one."""
    path = Path(_path_text(path, what))
    folder = path.parent if str(path.parent) else Path(".")
    if not _is(folder, "dir"):
        raise ProcrustesError(f"{what}={shown_path(path)}: folder {shown_path(folder)} does not exist")
    refuse_special(path, what)
    try:
        fd, tmp = _create_temporary(folder, path)
    except OSError as err:
        raise ProcrustesError(f"{what}={shown_path(path)}: cannot be written ({_reason(err)})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        refuse_special(path, what)  # again: something may have been put there while this was written
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise ProcrustesError(f"{what}={shown_path(path)}: cannot be written ({_reason(err)})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _create_temporary(folder: Path, path: Path) -> tuple[int, str]:
    """A new temporary file next to ``path``, open for writing: mode 0666 less the umask (the kernel
    applies it; the process umask is never changed), or the mode of the regular file it replaces."""
    try:
        kept = os.stat(path).st_mode
        mode = stat.S_IMODE(kept) & 0o777 if stat.S_ISREG(kept) else None
    except (OSError, ValueError):
        mode = None
    for _ in range(100):
        # the temporary name stays short, so that a long final name still leaves room for it
        tmp = str(folder / f".{path.name[:40]}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        if mode is not None:
            try:
                os.fchmod(fd, mode)
            except OSError:
                pass  # a file system without modes: the new file keeps its default
        return fd, tmp
    raise FileExistsError(17, "no free temporary name")


def remove_stale_temporaries(folder: Path) -> None:
    """Delete the temporary files an atomic write killed mid-way left behind (``.NAME.XXXX.tmp``)."""
    for stale in folder.glob(f".*{TEMP_SUFFIX}"):
        try:
            stale.unlink()
        except OSError:
            pass  # another process's, or already gone: harmless either way
